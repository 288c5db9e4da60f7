package captions

import (
	"errors"
	"strings"
	"testing"
)

func TestToVTT(t *testing.T) {
	srt := "\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:03,500\r\n同学们好\r\n\r\n2\r\n0:01:02,5 --> 0:01:04,25\r\n勾股定理\r\n"
	got, err := ToVTT([]byte(srt))
	if err != nil {
		t.Fatal(err)
	}
	want := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\n同学们好\n\n2\n00:01:02.500 --> 00:01:04.250\n勾股定理\n\n"
	if string(got) != want {
		t.Fatalf("SRT converted to\n%q\nwant\n%q", got, want)
	}

	vtt := "WEBVTT - 八年级数学\r\n\r\n00:00.000 --> 00:02.000\n你好\n\n01:00:00.000 --> 01:00:01.000 align:start\nbye\n"
	got, err = ToVTT([]byte(vtt))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), "\r") || !strings.HasPrefix(string(got), "WEBVTT - 八年级数学\n") {
		t.Fatalf("vtt = %q", got)
	}
}

func TestToVTTRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":       "",
		"text":        "hello teacher\nthis is not captions\n",
		"gbk":         "1\n00:00:01,000 --> 00:00:02,000\n\xc4\xe3\xba\xc3\n",
		"binary":      "\x00\x00\x00\x18ftypmp42",
		"vtt no cues": "WEBVTT\n\nNOTE nothing here\n",
		"bad timing":  "WEBVTT\n\n00:01 --> 00:02\nx\n",
		"srt garbage": "1\n00:00:01 --> soon\nx\n",
		"no blank":    "WEBVTT\n00:00.000 --> 00:02.000\nx\n",
		"huge":        strings.Repeat("x", MaxSize+1),
	} {
		_, err := ToVTT([]byte(in))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}
