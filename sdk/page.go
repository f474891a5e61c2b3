package sdk

import (
	"errors"
	"net/http"
)

// Page is a page for a person, which the gateway draws in its own layout
// (the one all its pages share) with the request id and a link to try
// again, so that a plug-in's refusal looks like the gateway's own. Title
// and Text are plain words, never an identity provider's raw error code.
type Page struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// maxPageText bounds Page.Title and Page.Text: a sentence or two.
const maxPageText = 2048

// Failure is a Challenge that tells a person why signing in did not work:
// a browser gets title and text as a page in the gateway's layout; any
// other client gets status and the line "title: text". Set Reason on it
// for the sign-in log.
func Failure(status int, title, text string) AuthResult {
	res := Challenge(status, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, []byte(title+": "+text+"\n"))
	res.Page = &Page{Title: title, Text: text}
	return res
}

// validate reports what is wrong with p, if anything.
func (p *Page) validate() error {
	switch {
	case p == nil:
		return nil
	case p.Title == "":
		return errors.New("a page needs a Title")
	case len(p.Title) > maxPageText || len(p.Text) > maxPageText:
		return errors.New("a page's Title and Text are at most 2048 bytes each")
	}
	return nil
}
