package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// retryPolicy is exponential backoff with jitter: first wait, doubling up to max, for
// at most total time (and never past ctx).
type retryPolicy struct {
	first, max, total time.Duration
}

// defaultRetry rides out an object store that is down for a couple of minutes (a
// restart, a failover); a caller with a shorter deadline bounds it with ctx.
var defaultRetry = retryPolicy{first: 500 * time.Millisecond, max: 8 * time.Second, total: 2 * time.Minute}

// permanent marks an error that must not be retried whatever it wraps.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// run calls fn until it succeeds, fails for good, or time runs out; onRetry hears of
// each failure that will be retried.
func (p retryPolicy) run(ctx context.Context, fn func(attempt int) error, onRetry func(attempt int, wait time.Duration, err error)) error {
	start := time.Now()
	wait := p.first
	var last error // the last transient failure, to explain giving up
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return nil
		}
		var perm permanent
		if errors.As(err, &perm) {
			return perm.err
		}
		if ctx.Err() != nil {
			if transient(err) {
				last = err
			}
			if last == nil {
				return err
			}
			return fmt.Errorf("%w (after %d attempts; last error: %w)", ctx.Err(), attempt, last)
		}
		if !transient(err) {
			return err
		}
		last = err
		// ±20% jitter, so many uploads failing together do not return together.
		d := time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
		if time.Since(start)+d > p.total {
			return fmt.Errorf("gave up after %d attempts in %s: %w", attempt, time.Since(start).Round(time.Second), err)
		}
		onRetry(attempt, d, err)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts; last error: %w)", ctx.Err(), attempt, err)
		}
		wait = min(wait*2, p.max)
	}
}

// transientCodes are S3 error codes that mean "try again later".
var transientCodes = map[string]bool{
	"SlowDown": true, "SlowDownRead": true, "SlowDownWrite": true,
	"RequestTimeout": true, "InternalError": true, "ServiceUnavailable": true,
	"Throttling": true, "ThrottlingException": true, "RequestThrottled": true,
	"RequestLimitExceeded": true,
}

// transient reports whether err is worth retrying: the store was unreachable, cut the
// connection, or answered 5xx / 408 / 429 / SlowDown. A request the store understood
// and refused (NoSuchKey, AccessDenied, InvalidArgument, any other 4xx) is not.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.StatusCode != 0 || er.Code != "") {
		if transientCodes[er.Code] {
			return true
		}
		return er.StatusCode >= 500 || er.StatusCode == 408 || er.StatusCode == 429
	}
	// TLS trouble is configuration, not an outage: waiting will not fix it.
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &authErr) || errors.As(err, &hostErr) {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
