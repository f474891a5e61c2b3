package connector

import (
	clist "container/list"
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/sdk"
)

// reuseCache keeps the sign-on results Injectors let the connector reuse
// (sdk.InjectResult.ReuseFor), and the spare one-time results they made
// (sdk.InjectResult.Spares, spares.go), for every app of the connector, so
// a signed-in session's later requests skip the plug-in call. It is
// bounded by entries (a result and each spare count one) and by bytes;
// past either bound the least recently used entry goes. See
// docs/rationale/signon-cache.md.
type reuseCache struct {
	maxEntries int
	maxBytes   int

	mu    sync.Mutex
	m     map[reuseKey]*clist.Element // values *reuseEntry
	lru   clist.List                  // front: most recently used
	bytes int
	count int // entries plus the spares they hold: what maxEntries bounds

	// forgets has bit s-400 set once any result listed status s in
	// ForgetOn: a cheap test that spares most answers a lookup.
	forgets [4]atomic.Uint64
}

// reuseKey names one session's result for one app under one config: a
// result is never served to another session, another app or another of a
// wildcard app's backends, or after the app's sign-on was reconfigured
// (gen).
type reuseKey struct {
	gen     uint64            // the app's signOn: a config change starts a new one
	app     string            // the app's name
	backend string            // the backend's host (one per label of a wildcard app)
	session string            // the identity envelope's session id
	sum     [sha256.Size]byte // the envelope's hash: identity, app, session and expiry
}

type reuseEntry struct {
	key reuseKey
	// res is the reused result; for spares, what they share (Remove,
	// ForgetOn, RejectStatus).
	res     sdk.InjectResult
	expires time.Time
	size    int
	spares  *spareSet // non-nil: the key's spares and how many to ask for next (spares.go)
}

// Bounds of the connector's reuse cache: 4096 entries ((session, app)
// pairs, each spare one more) or 8 MiB of results, whichever comes first,
// and no result or spare over 16 KiB (such a result is simply not reused).
const (
	maxReuseEntries = 4096
	maxReuseBytes   = 8 << 20
	maxReuseResult  = 16 << 10
)

func newReuseCache(entries, bytes int) *reuseCache {
	return &reuseCache{maxEntries: entries, maxBytes: bytes, m: map[reuseKey]*clist.Element{}}
}

// lookup returns a result for one request of k at now: k's reused result,
// or one of its spares, which it hands out only once. Without one, ask is
// how many spares the plug-in call should ask for, and r the refill of k
// in flight: this request's own when ask > 0 (spares.go).
func (c *reuseCache) lookup(k reuseKey, now time.Time) (res sdk.InjectResult, ok bool, ask int, r *refill) {
	if c == nil {
		return sdk.InjectResult{}, false, 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return sdk.InjectResult{}, false, 0, nil
	}
	e := el.Value.(*reuseEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return sdk.InjectResult{}, false, 0, nil
	}
	c.lru.MoveToFront(el)
	if e.spares != nil {
		return c.takeSpare(e, now)
	}
	return e.res, true, 0, nil
}

// put keeps res for k until expires, evicting the least recently used
// entries past the bounds. The result is shared by every later hit, so
// nobody may change it afterwards.
func (c *reuseCache) put(k reuseKey, res sdk.InjectResult, expires time.Time) {
	if c == nil {
		return
	}
	size := resultSize(k, res)
	if size > maxReuseResult || size > c.maxBytes || c.maxEntries <= 0 {
		return
	}
	c.noteForgetOn(res.ForgetOn)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.insert(&reuseEntry{key: k, res: res, expires: expires, size: size})
}

// insert adds e in place of k's entry, then evicts the least recently
// used entries past the bounds. The caller holds mu.
func (c *reuseCache) insert(e *reuseEntry) {
	if el, ok := c.m[e.key]; ok {
		c.remove(el)
	}
	c.m[e.key] = c.lru.PushFront(e)
	c.bytes += e.size
	c.count += 1 + e.spares.len()
	for (c.count > c.maxEntries || c.bytes > c.maxBytes) && c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

// noteForgetOn sets the bits forgetsStatus tests.
func (c *reuseCache) noteForgetOn(statuses []int) {
	for _, st := range statuses {
		if st >= 400 && st <= 599 {
			c.forgets[(st-400)/64].Or(1 << ((st - 400) % 64))
		}
	}
}

// forgets reports whether any result ever asked to be forgotten on status.
func (c *reuseCache) forgetsStatus(status int) bool {
	if status < 400 || status > 599 {
		return false
	}
	return c.forgets[(status-400)/64].Load()&(1<<((status-400)%64)) != 0
}

// forget drops k's result, or its spares and what it learnt about asking
// for them, if it lists status in ForgetOn, and reports whether it did.
func (c *reuseCache) forget(k reuseKey, status int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return false
	}
	for _, st := range el.Value.(*reuseEntry).res.ForgetOn {
		if st == status {
			c.remove(el)
			return true
		}
	}
	return false
}

// dropGen drops every result of one signOn (its app's config changed or
// the connector stops).
func (c *reuseCache) dropGen(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*reuseEntry).key.gen == gen {
			c.remove(el)
		}
		el = next
	}
}

// len is the number of results held.
func (c *reuseCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *reuseCache) remove(el *clist.Element) {
	e := c.lru.Remove(el).(*reuseEntry)
	delete(c.m, e.key)
	c.bytes -= e.size
	c.count -= 1 + e.spares.len()
}

// resultSize is about what an entry holds in memory.
func resultSize(k reuseKey, r sdk.InjectResult) int {
	n := 256 + len(k.app) + len(k.backend) + len(k.session) + 8*len(r.ForgetOn)
	for _, name := range r.Remove {
		n += 16 + len(name)
	}
	return n + headerSize(r.Set)
}
