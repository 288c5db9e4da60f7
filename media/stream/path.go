package stream

import (
	"errors"
	"strings"
)

// ErrBadPath means a stream path is not of the allowed form.
var ErrBadPath = errors.New("stream path must be 1-128 characters of letters, digits, '-', '_' and '/', without empty, '.' or '..' segments")

// ValidatePath checks a stream path such as "school-a/room-101". Paths become URLs,
// metric labels and recording directories, so they are kept to a safe alphabet.
func ValidatePath(p string) error {
	if p == "" || len(p) > 128 {
		return ErrBadPath
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return ErrBadPath
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
			if !ok {
				return ErrBadPath
			}
		}
	}
	return nil
}
