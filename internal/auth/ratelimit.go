package auth

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// failureLimiter counts recent failures per key (a username, a client address) in a
// sliding window and refuses a key that reached its limit until its oldest failure
// leaves the window. It lives in memory, so each node counts on its own: behind a load
// balancer with n API nodes an attacker gets up to n times the limit.
type failureLimiter struct {
	limit  int
	window time.Duration

	mu        sync.Mutex
	fails     map[string][]time.Time // oldest first, at most limit entries
	lastPrune time.Time
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, fails: map[string][]time.Time{}}
}

// wait returns how long key must wait before its next attempt; 0 means go ahead.
func (l *failureLimiter) wait(key string, now time.Time) time.Duration {
	if l.limit <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if len(f) < l.limit {
		return 0
	}
	return f[len(f)-l.limit].Add(l.window).Sub(now)
}

// fail records a failure of key and reports whether this one reached the limit (the
// moment worth a log line; the refusals that follow are not).
func (l *failureLimiter) fail(key string, now time.Time) bool {
	if l.limit <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f := append(l.recent(key, now), now)
	if len(f) > l.limit {
		f = f[len(f)-l.limit:]
	}
	l.fails[key] = f
	reached := len(f) == l.limit // all of f is within the window
	// Forget idle keys now and then, so a spray of usernames or addresses cannot grow
	// the map for good.
	if now.Sub(l.lastPrune) > l.window {
		l.lastPrune = now
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	return reached
}

// reset forgets key's failures (after a successful sign-in).
func (l *failureLimiter) reset(key string) {
	l.mu.Lock()
	delete(l.fails, key)
	l.mu.Unlock()
}

// recent drops key's failures older than the window and returns the rest. l.mu is held.
func (l *failureLimiter) recent(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	if i == len(f) {
		delete(l.fails, key)
		return nil
	}
	if i > 0 {
		f = f[i:]
		l.fails[key] = f
	}
	return f
}

// ClientIP is the address a request came from: the peer address of the connection.
// X-Forwarded-For is not trusted (any client can send it); behind a reverse proxy every
// client shares the proxy's address, so the per-address sign-in limit applies to the
// proxy as a whole.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiterKeyIP groups IPv6 clients by /64, the block one household or school usually
// gets, so one client cannot rotate through its own addresses to dodge the limit.
func limiterKeyIP(ip string) string {
	a := net.ParseIP(ip)
	if a == nil {
		return "ip:" + ip
	}
	if a.To4() != nil {
		return "ip:" + a.String()
	}
	return "ip:" + a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func limiterKeyUser(username string) string {
	u := strings.ToLower(strings.TrimSpace(username))
	if len(u) > 64 {
		u = u[:64]
	}
	return "user:" + u
}
