package console

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
)

// View is everything the page shows, gathered by the gateway for one
// request.
type View struct {
	User          string // who is looking ("" without sign-in: development)
	SignOut       string // the sign-out path ("" without sign-in)
	Version       string
	ConfigVersion uint64
	ConfigFile    string
	Ready         string // the readiness summary
	Now           time.Time

	Apps       []App
	Groups     []Group
	Connectors []Connector
	SignIns    []SignIn
	Certs      []Cert
	// Problems are parts that could not be read (the store is down): the
	// rest of the page is shown all the same.
	Problems []string
}

// App is one app's row, with its charts' data.
type App struct {
	Name, Host, Prefix, Group, Auth, SignOn string
	Filters                                 []string
	Serving                                 bool
	Rate                                    []Point // Minutes points, oldest first
}

// Group is one connector group's row.
type Group struct {
	Name       string
	InUse, Up  bool
	Active     int
	Connectors string // counts by state, "active 1, draining 0, ..."
}

// Connector is one connector's row.
type Connector struct {
	ID, Group, Hostname, Version, Address, State string
	LastSeen                                     time.Time
	Sessions                                     int
	StreamsInFlight                              int64
	RTT                                          time.Duration // 0: not measured
	Plugins                                      []string      // its plug-in catalog, as its latest ready reported it
	Refused                                      []string      // the apps whose sign-on it refused: "app (field)"
}

// SignIn is one record of the sign-in log.
type SignIn struct {
	At                                   time.Time
	App, Plugin, Subject, Result, Reason string
	ClientIP                             string
}

// Cert is a certificate served for a host, and when it expires.
type Cert struct {
	Host     string
	NotAfter time.Time
}

var funcs = template.FuncMap{
	"ago":    ago,
	"when":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"left":   left,
	"soon":   func(now, t time.Time) bool { return t.Sub(now) < 14*24*time.Hour },
	"join":   func(s []string) string { return strings.Join(s, ", ") },
	"rtt":    rtt,
	"chart":  newChart,
	"denied": func(result string) bool { return result != "signed_in" },
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + "d ago"
}

func left(now, t time.Time) string {
	d := t.Sub(now)
	if d < 0 {
		return "EXPIRED"
	}
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh left", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd left", int(d/(24*time.Hour)))
}

func rtt(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Microsecond:
		return "<1µs"
	case d < time.Millisecond: // loopback, a LAN
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

// Chart is an app's hour as two SVG polylines (requests and errors per
// minute) on a shared scale.
type Chart struct {
	W, H             int
	Requests, Errors string // polyline points
	Max, Total, Errs int64
}

const chartW, chartH = 240, 40

func newChart(ps []Point) Chart {
	c := Chart{W: chartW, H: chartH}
	for _, p := range ps {
		c.Max = max(c.Max, p.Requests)
		c.Total += p.Requests
		c.Errs += p.Errors
	}
	scale := float64(chartH-2) / float64(max(c.Max, 1))
	var req, errs strings.Builder
	for i, p := range ps {
		x := float64(i) * float64(chartW) / float64(max(len(ps)-1, 1))
		fmt.Fprintf(&req, "%.1f,%.1f ", x, float64(chartH-1)-float64(p.Requests)*scale)
		fmt.Fprintf(&errs, "%.1f,%.1f ", x, float64(chartH-1)-float64(p.Errors)*scale)
	}
	c.Requests, c.Errors = strings.TrimSpace(req.String()), strings.TrimSpace(errs.String())
	return c
}
