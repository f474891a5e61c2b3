package gateway

import (
	"github.com/gatehouse/gatehouse/core/config"
	"github.com/gatehouse/gatehouse/core/proxy"
)

// accessLog is app a's access log (nil when its access_log is false):
// Options.AccessLog, else the gateway's log; log.format and log.level
// apply to it (config/log.go).
func (g *Gateway) accessLog(cfg *config.Config, a *config.App) *proxy.AccessLog {
	if !a.AccessLogOn() {
		return nil
	}
	l := g.opts.AccessLog
	if l == nil {
		l = g.log
	}
	return &proxy.AccessLog{Logger: l, Query: cfg.Log.AccessQuery}
}
