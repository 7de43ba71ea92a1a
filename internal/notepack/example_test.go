package notepack_test

import (
	"fmt"

	"github.com/riptide-io/riptide/internal/notepack"
)

// A Socket.IO packet's data, with one binary attachment, becomes what notepack.io writes for it: the
// placeholder is replaced by a bin.
func ExampleAppendJSON() {
	data := []byte(`["upload",{"name":"a.png","file":{"_placeholder":true,"num":0}},1.0,-0,101.25]`)
	mp, err := notepack.AppendJSON(nil, data, [][]byte{{0x89, 'P', 'N', 'G'}})
	fmt.Printf("%x %v\n", mp, err)
	// Output: 95a675706c6f616482a46e616d65a5612e706e67a466696c65c40489504e470100cb4059500000000000 <nil>
}

// A value received from the cluster becomes the JSON and attachments a Node server would send its clients.
func ExampleToJSON() {
	mp := []byte("\x93\xa4tick\xc4\x02\x01\x02\xd6\xff\x65\x53\xf1\x00")
	js, atts, n, err := notepack.ToJSON(nil, mp, nil)
	fmt.Println(string(js), atts, n, err)
	// Output: ["tick",{"_placeholder":true,"num":0},"2023-11-14T22:13:20.000Z"] [[1 2]] 16 <nil>
}

func ExampleDecode() {
	v, n, err := notepack.Decode([]byte("\x83\xa1a\x01\x02\xa1b\xa1c\xd4\x00\x00"))
	fmt.Println(v, n, err)
	// Output: map[2:b a:1] 12 <nil>
}

// A Reader walks a message without building it.
func ExampleReader() {
	msg, _ := notepack.Append(nil, []any{"uid-1", 3, map[string]any{"rooms": []string{"a"}}})
	r := notepack.NewReader(msg)
	n, _ := r.ReadArrayHeader()
	uid, _ := r.ReadString()
	typ, _ := r.ReadInt()
	opts, _ := r.Raw()
	fmt.Println(n, uid, typ, len(opts), r.Len())
	// Output: 3 uid-1 3 10 0
}
