package upload

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	tusd "github.com/tus/tusd/v2/pkg/handler"
)

// cleanMeta checks a new upload's metadata: a filename is required, names
// and titles must be UTF-8 text of bounded length. The filename loses any
// directory part (a browser sends none, a script might). The result is a
// copy without the server's own keys.
func cleanMeta(in tusd.MetaData) (tusd.MetaData, error) {
	out := tusd.MetaData{}
	total := 0
	for k, v := range in {
		if k == metaOwner {
			continue
		}
		total += len(k) + len(v)
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("metadata %q is not UTF-8 text", k)
		}
		out[k] = v
	}
	if total > maxMetaBytes {
		return nil, fmt.Errorf("Upload-Metadata is larger than %d bytes", maxMetaBytes)
	}
	name := out[MetaFilename]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(dropControl, name))
	if name == "" || name == "." || name == ".." {
		return nil, errors.New("metadata filename is required (the name of the file being uploaded)")
	}
	if len(name) > maxFilenameBytes {
		return nil, fmt.Errorf("metadata filename is longer than %d bytes", maxFilenameBytes)
	}
	out[MetaFilename] = name
	if t, ok := out[MetaTitle]; ok {
		t = strings.TrimSpace(strings.Map(dropControl, t))
		if utf8.RuneCountInString(t) > maxTitleRunes {
			return nil, fmt.Errorf("metadata title is longer than %d characters", maxTitleRunes)
		}
		out[MetaTitle] = t
	}
	return out, nil
}

func dropControl(r rune) rune {
	if unicode.IsControl(r) {
		return -1
	}
	return r
}
