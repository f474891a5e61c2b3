module github.com/gatehouse/gatehouse/examples/custom-sso

go 1.26.8

require github.com/gatehouse/gatehouse/sdk v0.0.0

require (
	github.com/fatih/color v1.13.0 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/hashicorp/go-hclog v1.6.3 // indirect
	github.com/hashicorp/go-plugin v1.8.0 // indirect
	github.com/hashicorp/yamux v0.1.2 // indirect
	github.com/mattn/go-colorable v0.1.12 // indirect
	github.com/mattn/go-isatty v0.0.17 // indirect
	github.com/oklog/run v1.1.0 // indirect
	golang.org/x/net v0.38.0 // indirect
	golang.org/x/sys v0.31.0 // indirect
	golang.org/x/text v0.23.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240528184218-531527333157 // indirect
	google.golang.org/grpc v1.65.0 // indirect
	google.golang.org/protobuf v1.36.10 // indirect
)

// This example lives in the SDK's repository and builds against the SDK
// beside it. A plug-in of your own requires a released version instead
// (go get github.com/gatehouse/gatehouse/sdk@VERSION) and needs no replace.
replace github.com/gatehouse/gatehouse/sdk => ../../sdk
