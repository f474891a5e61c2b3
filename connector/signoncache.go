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
// (sdk.InjectResult.ReuseFor), for every app of the connector, so a
// signed-in session's later requests skip the plug-in call. It is bounded
// by entries and by bytes; past either bound the least recently used
// entry goes. See docs/rationale/signon-cache.md.
type reuseCache struct {
	maxEntries int
	maxBytes   int

	mu    sync.Mutex
	m     map[reuseKey]*clist.Element // values *reuseEntry
	lru   clist.List                  // front: most recently used
	bytes int

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
	key     reuseKey
	res     sdk.InjectResult
	expires time.Time
	size    int
}

// Bounds of the connector's reuse cache: 4096 (session, app) pairs or
// 8 MiB of results, whichever comes first, and no result over 16 KiB
// (such a result is simply not reused).
const (
	maxReuseEntries = 4096
	maxReuseBytes   = 8 << 20
	maxReuseResult  = 16 << 10
)

func newReuseCache(entries, bytes int) *reuseCache {
	return &reuseCache{maxEntries: entries, maxBytes: bytes, m: map[reuseKey]*clist.Element{}}
}

// get returns k's result if it has not expired at now.
func (c *reuseCache) get(k reuseKey, now time.Time) (sdk.InjectResult, bool) {
	if c == nil {
		return sdk.InjectResult{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return sdk.InjectResult{}, false
	}
	e := el.Value.(*reuseEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return sdk.InjectResult{}, false
	}
	c.lru.MoveToFront(el)
	return e.res, true
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
	for _, st := range res.ForgetOn {
		if st >= 400 && st <= 599 {
			c.forgets[(st-400)/64].Or(1 << ((st - 400) % 64))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		c.remove(el)
	}
	e := &reuseEntry{key: k, res: res, expires: expires, size: size}
	c.m[k] = c.lru.PushFront(e)
	c.bytes += size
	for len(c.m) > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

// forgets reports whether any result ever asked to be forgotten on status.
func (c *reuseCache) forgetsStatus(status int) bool {
	if status < 400 || status > 599 {
		return false
	}
	return c.forgets[(status-400)/64].Load()&(1<<((status-400)%64)) != 0
}

// forget drops k's result if it lists status in ForgetOn, and reports
// whether it did.
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
}

// resultSize is about what an entry holds in memory.
func resultSize(k reuseKey, r sdk.InjectResult) int {
	n := 256 + len(k.app) + len(k.backend) + len(k.session) + 8*len(r.ForgetOn)
	for _, name := range r.Remove {
		n += 16 + len(name)
	}
	for name, vs := range r.Set {
		n += 48 + len(name)
		for _, v := range vs {
			n += 16 + len(v)
		}
	}
	return n
}
