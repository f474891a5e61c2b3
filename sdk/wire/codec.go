package wire

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/protoadapt"
)

// Codec is the gRPC codec of the protocol: JSON for the sdk's request and
// response structs, and gRPC's protobuf codec for protobuf messages, which
// go-plugin's own services use on the same connection. Both ends force it
// (grpc.ForceServerCodec, grpc.ForceCodec) instead of registering it in
// gRPC's global codec registry.
type Codec struct{}

// Name is sent as the content subtype ("application/grpc+json").
func (Codec) Name() string { return "json" }

// Marshal encodes v.
func (Codec) Marshal(v any) ([]byte, error) {
	if _, ok := v.(protoadapt.MessageV1); ok {
		return protoCodec().Marshal(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encoding %T: %w", v, err)
	}
	return b, nil
}

// Unmarshal decodes data into v.
func (Codec) Unmarshal(data []byte, v any) error {
	if _, ok := v.(protoadapt.MessageV1); ok {
		return protoCodec().Unmarshal(data, v)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("wire: decoding %T: %w", v, err)
	}
	return nil
}

// protoCodec is gRPC's protobuf codec, which the grpc package registers.
func protoCodec() encoding.Codec {
	if c := encoding.GetCodec("proto"); c != nil {
		return c
	}
	panic("wire: gRPC's protobuf codec is not registered")
}
