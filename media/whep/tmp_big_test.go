package whep_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/classcast/classcast/media/sei"
	"github.com/classcast/classcast/media/whep"
	"github.com/classcast/classcast/media/whep/wheptest"
)

func TestTmpBig(t *testing.T) {
	srv := newServer(t, wheptest.Config{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			au := [][]byte{sei.New(time.Now(), n), append([]byte{0x41, 0x9a}, bytes.Repeat([]byte{0xcd}, 5000)...)}
			if n%50 == 0 {
				au = [][]byte{sei.New(time.Now(), n), {0x67, 0x42}, {0x68, 0xce}, append([]byte{0x65, 0x88}, bytes.Repeat([]byte{0xab}, 150000)...)}
			}
			srv.WriteVideo(au, n*3600)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := whep.Dial(ctx, srv.Endpoint(), whep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	t.Logf("%+v", s.Stats())
	s.Close()
	close(stop)
	<-done
}
