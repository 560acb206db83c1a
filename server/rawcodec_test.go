package server

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// rawRequest is a ClassifyRequest whose text is raw bytes, so a test can
// send what a non-Go client might: invalid UTF-8.
type rawRequest struct{ text []byte }

// rawCodec marshals rawRequest by hand and everything else as protobuf.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(rawRequest); ok {
		b := protowire.AppendTag(nil, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, r.text)
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

var _ encoding.CodecV2 = rawCodec{}
