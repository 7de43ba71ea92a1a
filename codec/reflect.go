package codec

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// This file is the encoder's slow path: values whose type may hold binary somewhere inside (a []byte or an
// interface) are walked by reflection, so that every []byte becomes a placeholder (PROTOCOL.md §12), with
// encoding/json's rules for everything else. Types that cannot hold binary never get here: sonic encodes them.

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

var binaryCache sync.Map // reflect.Type -> bool

// mayHoldBinary reports whether a value of type t can contain a []byte that the encoder must turn into an
// attachment: t is a []byte-like slice, an interface, or contains one through pointers, slices, arrays, maps or
// exported struct fields, and does not encode itself (json.Marshaler, encoding.TextMarshaler).
func mayHoldBinary(t reflect.Type) bool {
	if v, ok := binaryCache.Load(t); ok {
		return v.(bool)
	}
	// Each top-level query explores the type graph with its own visited set and caches only its own answer: a
	// partial answer computed inside a cycle may be wrong for the inner type.
	r := holdsBinary(t, map[reflect.Type]bool{})
	binaryCache.Store(t, r)
	return r
}

func encodesItself(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(marshalerType) ||
			reflect.PointerTo(t).Implements(textMarshalerType))
}

func holdsBinary(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if visiting[t] {
		return false
	}
	visiting[t] = true
	if encodesItself(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return true
		}
		return holdsBinary(t.Elem(), visiting)
	case reflect.Array, reflect.Pointer, reflect.Map:
		return holdsBinary(t.Elem(), visiting)
	case reflect.Struct:
		for _, f := range cachedFields(t) {
			if holdsBinary(f.typ, visiting) {
				return true
			}
		}
	}
	return false
}

// appendReflect encodes v following encoding/json's rules, with []byte as attachments. quoted is the `,string`
// tag option of the enclosing field.
func (e *encState) appendReflect(v reflect.Value, depth int, quoted bool) error {
	if depth > maxEncodeDepth {
		return ErrUnsupportedValue
	}
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	t := v.Type()
	if encodesItself(t) {
		if t.Kind() == reflect.Pointer && v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if t.Kind() != reflect.Pointer && !t.Implements(marshalerType) && !t.Implements(textMarshalerType) {
			// Pointer-receiver marshaler: used only when addressable, as encoding/json does.
			if v.CanAddr() {
				return e.sonic(v.Addr().Interface())
			}
		} else if v.CanInterface() {
			return e.sonic(v.Interface())
		}
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if v.Elem().CanInterface() {
			return e.appendAny(v.Elem().Interface(), depth)
		}
		return e.appendReflect(v.Elem(), depth, false)
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.appendReflect(v.Elem(), depth+1, quoted)
	case reflect.Bool:
		e.quote(quoted)
		e.buf = strconv.AppendBool(e.buf, v.Bool())
		e.quote(quoted)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.quote(quoted)
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
		e.quote(quoted)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.quote(quoted)
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
		e.quote(quoted)
	case reflect.Float32, reflect.Float64:
		e.quote(quoted)
		e.buf = appendFloat(e.buf, v.Float(), t.Bits())
		e.quote(quoted)
	case reflect.String:
		if quoted { // `,string` on a string field: the JSON string, quoted again
			var tmp [64]byte
			e.buf = appendString(e.buf, string(appendString(tmp[:0], v.String())))
		} else {
			e.buf = appendString(e.buf, v.String())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return e.binary(v.Bytes())
		}
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.appendList(v, depth)
	case reflect.Array:
		return e.appendList(v, depth)
	case reflect.Map:
		return e.appendReflectMap(v, depth)
	case reflect.Struct:
		return e.appendStruct(v, depth)
	default: // Chan, Func, Complex, UnsafePointer
		return ErrUnsupportedValue
	}
	return nil
}

func (e *encState) quote(q bool) {
	if q {
		e.buf = append(e.buf, '"')
	}
}

func (e *encState) appendList(v reflect.Value, depth int) error {
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.appendReflect(v.Index(i), depth+1, false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encState) appendReflectMap(v reflect.Value, depth int) error {
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	type kv struct {
		k string
		v reflect.Value
	}
	kvs := make([]kv, 0, v.Len())
	kt := v.Type().Key()
	for it := v.MapRange(); it.Next(); {
		k := it.Key()
		var ks string
		switch {
		case kt.Kind() == reflect.String:
			ks = k.String()
		case kt.Implements(textMarshalerType):
			if kt.Kind() == reflect.Pointer && k.IsNil() {
				ks = ""
				break
			}
			b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return err
			}
			ks = string(b)
		default:
			switch kt.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				ks = strconv.FormatInt(k.Int(), 10)
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
				ks = strconv.FormatUint(k.Uint(), 10)
			default:
				return ErrUnsupportedValue
			}
		}
		kvs = append(kvs, kv{ks, it.Value()})
	}
	slices.SortFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	e.buf = append(e.buf, '{')
	for i, p := range kvs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, p.k)
		e.buf = append(e.buf, ':')
		if err := e.appendReflect(p.v, depth+1, false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encState) appendStruct(v reflect.Value, depth int) error {
	e.buf = append(e.buf, '{')
	first := true
fields:
	for _, f := range cachedFields(v.Type()) {
		fv := v
		for _, i := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields // field of a nil embedded pointer: skipped, as encoding/json does
				}
				fv = fv.Elem()
			}
			fv = fv.Field(i)
		}
		if f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = append(e.buf, f.key...)
		if err := e.appendReflect(fv, depth+1, f.quoted); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// isZeroValue implements `omitzero`: the type's IsZero method if it has one, else reflect's zero test.
func isZeroValue(v reflect.Value) bool {
	t := v.Type()
	switch {
	case t.Kind() == reflect.Interface || t.Kind() == reflect.Pointer:
		if v.IsNil() {
			return true
		}
		if t.Implements(isZeroerType) {
			if t.Kind() == reflect.Interface && v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() {
				return true
			}
			return v.Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Implements(isZeroerType):
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	case reflect.PointerTo(t).Implements(isZeroerType):
		if !v.CanAddr() {
			v2 := reflect.New(t).Elem()
			v2.Set(v)
			v = v2
		}
		return v.Addr().Interface().(interface{ IsZero() bool }).IsZero()
	}
	return v.IsZero()
}

// structField is one JSON-visible field, resolved as encoding/json's typeFields does.
type structField struct {
	name      string
	key       string // `"name":`, JSON-escaped
	tagged    bool
	index     []int
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	quoted    bool
}

var fieldCache sync.Map // reflect.Type -> []structField

func cachedFields(t reflect.Type) []structField {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]structField)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.([]structField)
}

// typeFields follows encoding/json's algorithm (encode.go typeFields): breadth first over embedded structs, the
// shallowest field of a name wins, a tagged one breaks ties at equal depth, remaining ties drop the name.
func typeFields(t reflect.Type) []structField {
	current := []structField{}
	next := []structField{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []structField
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, f := range current {
			if visited[f.typ] {
				continue
			}
			visited[f.typ] = true
			for i := range f.typ.NumField() {
				sf := f.typ.Field(i)
				if sf.Anonymous {
					t := sf.Type
					if t.Kind() == reflect.Pointer {
						t = t.Elem()
					}
					if !sf.IsExported() && t.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := make([]int, len(f.index)+1)
				copy(index, f.index)
				index[len(f.index)] = i
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				quoted := false
				if hasOpt(opts, "string") {
					switch ft.Kind() {
					case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
						reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
						reflect.Float32, reflect.Float64, reflect.String:
						quoted = true
					}
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					fields = append(fields, structField{
						name:      name,
						key:       string(appendString(nil, name)) + ":",
						tagged:    tagged,
						index:     index,
						typ:       sf.Type,
						omitEmpty: hasOpt(opts, "omitempty"),
						omitZero:  hasOpt(opts, "omitzero"),
						quoted:    quoted,
					})
					if count[f.typ] > 1 {
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, structField{name: ft.Name(), index: index, typ: ft})
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b structField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for advance, i := 0, 0; i < len(fields); i += advance {
		fi := fields[i]
		for advance = 1; i+advance < len(fields) && fields[i+advance].name == fi.name; advance++ {
		}
		if advance == 1 {
			out = append(out, fi)
			continue
		}
		if len(fields[i].index) == len(fields[i+1].index) && fields[i].tagged == fields[i+1].tagged {
			continue // ambiguous: dropped
		}
		out = append(out, fi)
	}
	slices.SortFunc(out, func(a, b structField) int { return slices.Compare(a.index, b.index) })
	return out
}

func hasOpt(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}
