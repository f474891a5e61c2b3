package proxy

import (
	"net/http"

	"github.com/gatehouse/gatehouse/core/errorpage"
)

// The pages the proxy answers with.
var (
	pageUnknownHost = errorpage.Page{Status: http.StatusNotFound, Title: "No such app",
		Text: "Nothing is published at this address. Check the link, or ask your IT team whether the app has moved."}
	pageNoConnector = errorpage.Page{Status: http.StatusServiceUnavailable, Title: "App unavailable",
		Text: "The connection to the network where this app runs is down. Try again in a minute."}
	pageBackend = errorpage.Page{Status: http.StatusBadGateway, Title: "App not answering",
		Text: "The app did not answer. Try again in a minute; if it keeps happening, tell your IT team."}
	pageSignOn = errorpage.Page{Status: http.StatusServiceUnavailable, Title: "Sign-in to the app unavailable",
		Text: "Gatehouse could not sign you in to this app just now. Try again in a minute."}
	pageIdentity = errorpage.Page{Status: http.StatusBadGateway, Title: "Identity not accepted",
		Text: "The connector did not accept the identity Gatehouse sent with your request. Tell your IT team."}
	pageAskCredentials = errorpage.Page{Status: http.StatusUnauthorized, Title: "Credentials needed",
		Text: "This app needs your own username and password for it: open it in a browser to enter them."}
	pageTimeout = errorpage.Page{Status: http.StatusGatewayTimeout, Title: "App too slow",
		Text: "The app took too long to answer."}
)
