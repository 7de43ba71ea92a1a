package codec

// SplitArgs appends to dst the raw elements of the JSON array data (an EVENT or ACK payload) and returns the
// extended slice. Each element is trimmed of surrounding whitespace and aliases data; for an EVENT, element 0 is
// the event name. The array is fully validated (nesting at most 256 levels): malformed input is an error wrapping
// [ErrInvalidPacket] and dst is returned with whatever was appended before the error. With enough capacity in dst
// it allocates nothing; the number of elements is not limited here (DecodePacket enforces MaxArgs).
func SplitArgs(data []byte, dst [][]byte) ([][]byte, error) {
	var it arrayIter
	if err := it.init(data, maxDepthCap); err != nil {
		return dst, err
	}
	for {
		start, end, err := it.next()
		if err != nil {
			return dst, err
		}
		if start < 0 {
			break
		}
		dst = append(dst, data[start:end:end])
	}
	return dst, it.finish()
}

// EventName returns element 0 of an EVENT payload without looking at the rest: for a string, name is the raw JSON
// token with its quotes and escapes (decode it with [UnquoteString]); for a number (PROTOCOL.md §10, S09), the
// raw number literal and isString false. name aliases data. Any other element 0, an empty array, or malformed
// input is an error wrapping [ErrInvalidPacket]. Only element 0 is validated: use it on packets accepted by
// DecodePacket. Zero allocations.
func EventName(data []byte) (name []byte, isString bool, err error) {
	var it arrayIter
	if err := it.init(data, maxDepthCap); err != nil {
		return nil, false, err
	}
	start, end, err := it.next()
	if err != nil {
		return nil, false, err
	}
	if start < 0 {
		return nil, false, ErrInvalidPayload
	}
	name = data[start:end:end]
	switch c := name[0]; {
	case c == '"':
		return name, true, nil
	case c == '-' || '0' <= c && c <= '9':
		return name, false, nil
	}
	return nil, false, ErrInvalidPayload
}
