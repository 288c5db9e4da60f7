package webrtc

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Every packet written from many goroutines arrives intact, in order per writer.
func TestBatchConnDeliversEveryPacket(t *testing.T) {
	bn, err := newBatchNet()
	if err != nil {
		t.Fatal(err)
	}
	c, err := bn.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(8 << 20)

	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p := []byte(fmt.Sprintf("w%d-%04d-", w, i))
				p = append(p, bytes.Repeat([]byte{byte(i)}, 1000)...)
				if _, err := c.WriteTo(p, rx.LocalAddr()); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					time.Sleep(time.Millisecond) // stay within the receive buffer
				}
			}
		}()
	}
	next := make([]int, writers)
	buf := make([]byte, 2000)
	_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	for got := 0; got < writers*each; got++ {
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", got, err)
		}
		var w, i int
		if _, err := fmt.Sscanf(string(buf[:n]), "w%d-%04d-", &w, &i); err != nil {
			t.Fatalf("garbled packet %q", buf[:12])
		}
		if i != next[w] {
			t.Fatalf("writer %d: packet %d after %d", w, i, next[w]-1)
		}
		if n != 8+1000 && n != 9+1000 || buf[n-1] != byte(i) {
			t.Fatalf("packet %d of writer %d corrupted (len %d)", i, w, n)
		}
		next[w]++
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo([]byte("x"), rx.LocalAddr()); err == nil {
		t.Fatal("write after close succeeded")
	}
}
