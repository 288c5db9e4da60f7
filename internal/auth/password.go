package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's cost parameters.
type HashParams struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism.
	Threads uint8
}

// DefaultHashParams is OWASP's first argon2id recommendation (19 MiB, 2 passes, 1
// thread): about 25 ms on one core of our test machines, so a burst of sign-ins
// at the start of a school day does not starve the media plane, while an offline guess
// still costs 19 MiB and two passes.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read back from a stored hash, so a corrupted or planted
	// row cannot make one sign-in allocate gigabytes or spin for minutes.
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 16
	maxThreads = 64
	// MaxPasswordBytes bounds what is hashed.
	MaxPasswordBytes = 1024
)

var b64 = base64.RawStdEncoding

// HashPassword returns password hashed with argon2id and a random salt, as a PHC
// string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string, p HashParams) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", &InvalidError{Field: "password", Reason: fmt.Sprintf("longer than %d bytes", MaxPasswordBytes)}
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		p = DefaultHashParams
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it aborts the program instead)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is a stored hash that is not an argon2id PHC string this package can check.
var ErrBadHash = errors.New("not an argon2id PHC hash")

// parseHash splits a PHC string into its parameters, salt and key.
func parseHash(phc string) (HashParams, []byte, []byte, error) {
	var p HashParams
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %s", ErrBadHash, parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > maxThreads {
				return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("%w: parameter %q", ErrBadHash, kv)
		}
	}
	if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("%w: parameters %s out of range", ErrBadHash, parts[3])
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("%w: salt or key", ErrBadHash)
	}
	return p, salt, key, nil
}

// VerifyPassword checks password against a PHC hash from HashPassword. stale reports
// that the hash was made with other parameters than want, so the caller may store a
// fresh one while it has the password in hand.
func VerifyPassword(password, phc string, want HashParams) (ok, stale bool, err error) {
	p, salt, key, err := parseHash(phc)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	if want.Memory == 0 {
		want = DefaultHashParams
	}
	return true, p != want || len(key) != keyLen, nil
}
