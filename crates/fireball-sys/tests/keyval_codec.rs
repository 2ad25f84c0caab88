//! The key-value codec byte by byte: each type's exact encoding (the table in
//! `keyval`'s module docs), round trips, and every kind of malformed input
//! reported with the offset the docs promise.

use fireball_sys::keyval::{
    find, validate, DecodeError, DecodeErrorKind, EncodeError, Reader, Type, Value, Writer, MAX_ENTRIES, MAX_LEN,
};

fn encode(entries: &[(u8, Value<'_>)]) -> Vec<u8> {
    let mut buf = [0u8; 4096];
    let mut w = Writer::new(&mut buf).expect("writer");
    for &(k, v) in entries {
        w.put(k, v).expect("put");
    }
    w.finish().to_vec()
}

fn decode(bytes: &[u8]) -> Result<Vec<(u8, Value<'_>)>, DecodeError> {
    Reader::new(bytes)?.collect()
}

/// An error as (offset, kind), comparable with a literal.
fn at(e: DecodeError) -> (usize, DecodeErrorKind) {
    (e.offset, e.kind)
}

#[test]
fn each_type_encodes_as_documented() {
    let cases: &[(Value<'_>, &[u8])] = &[
        (Value::Bool(false), &[0x01, 0x00]),
        (Value::Bool(true), &[0x01, 0x01]),
        (Value::I32(-5), &[0x02, 0xfb, 0xff, 0xff, 0xff]),
        (Value::I32(i32::MIN), &[0x02, 0x00, 0x00, 0x00, 0x80]),
        (Value::U32(0xdead_beef), &[0x03, 0xef, 0xbe, 0xad, 0xde]),
        (Value::I64(-2), &[0x04, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        (Value::I64(0x0102_0304_0506_0708), &[0x04, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]),
        (Value::F32(1.5), &[0x05, 0x00, 0x00, 0xc0, 0x3f]),
        (Value::Bytes(&[]), &[0x06, 0x00]),
        (Value::Bytes(&[0, 255, 7]), &[0x06, 0x03, 0, 255, 7]),
        (Value::Str(""), &[0x07, 0x00]),
        (Value::Str("hé"), &[0x07, 0x03, b'h', 0xc3, 0xa9]),
    ];
    for &(value, type_and_payload) in cases {
        let bytes = encode(&[(42, value)]);
        let mut expected = vec![1, 42];
        expected.extend_from_slice(type_and_payload);
        assert_eq!(bytes, expected, "{value:?}");
        assert_eq!(bytes.len(), 1 + value.encoded_len());
        assert_eq!(bytes[2], value.ty() as u8);
        assert_eq!(decode(&bytes).expect("decode"), [(42, value)]);
    }
}

#[test]
fn the_documented_example() {
    let bytes = encode(&[(1, Value::I32(-5)), (2, Value::Str("ok")), (3, Value::Bool(true))]);
    assert_eq!(bytes, [3, 1, 2, 0xfb, 0xff, 0xff, 0xff, 2, 7, 2, b'o', b'k', 3, 1, 1]);
}

#[test]
fn empty_message_is_one_zero_byte() {
    let mut buf = [0xaa; 4];
    let w = Writer::new(&mut buf).expect("writer");
    assert!(w.is_empty());
    assert_eq!(w.finish(), [0]);
    assert_eq!(decode(&[0]).expect("decode"), []);
    assert_eq!(validate(&[0]), Ok(0));
}

#[test]
fn type_codes_round_trip() {
    for code in 0..=255u8 {
        match Type::from_code(code) {
            Some(t) => assert_eq!(t as u8, code),
            None => assert!(code == 0 || code > 7, "{code}"),
        }
    }
}

#[test]
fn strings_and_bytes_borrow_from_the_message() {
    let bytes = encode(&[(1, Value::Str("sensor")), (2, Value::Bytes(&[1, 2, 3]))]);
    let entries = decode(&bytes).expect("decode");
    let Value::Str(s) = entries[0].1 else { panic!() };
    let Value::Bytes(b) = entries[1].1 else { panic!() };
    let range = bytes.as_ptr_range();
    assert!(range.contains(&s.as_ptr()) && range.contains(&b.as_ptr()), "zero-copy");
}

#[test]
fn find_returns_the_first_entry_and_checks_the_rest() {
    let bytes = encode(&[(1, Value::U32(10)), (2, Value::Bool(true)), (1, Value::U32(20))]);
    assert_eq!(find(&bytes, 1), Ok(Some(Value::U32(10))));
    assert_eq!(find(&bytes, 9), Ok(None));
    let mut bad = bytes.clone();
    bad.push(0); // trailing byte after the entry found
    assert_eq!(find(&bad, 1).map_err(at), Err((bytes.len(), DecodeErrorKind::TrailingBytes)));
}

// ---- malformed input: one test per kind, offsets as documented ----------

#[test]
fn empty_input_is_truncated_at_0() {
    assert_eq!(Reader::new(&[]).map(|_| ()).map_err(at), Err((0, DecodeErrorKind::Truncated)));
    assert_eq!(validate(&[]).map_err(at), Err((0, DecodeErrorKind::Truncated)));
}

#[test]
fn truncation_at_every_length_names_the_cut_field() {
    // count | key type i32-payload | key type len "ab"
    let full = encode(&[(7, Value::I32(1)), (8, Value::Str("ab"))]);
    assert_eq!(full, [2, 7, 2, 1, 0, 0, 0, 8, 7, 2, b'a', b'b']);
    let expected: &[(usize, DecodeErrorKind)] = &[
        (0, DecodeErrorKind::Truncated), // len 0: no count byte
        (1, DecodeErrorKind::Truncated), // len 1: first key missing
        (2, DecodeErrorKind::Truncated), // len 2: type missing
        (3, DecodeErrorKind::Truncated), // len 3..=6: the i32 payload starting at 3 is cut
        (3, DecodeErrorKind::Truncated),
        (3, DecodeErrorKind::Truncated),
        (3, DecodeErrorKind::Truncated),
        (7, DecodeErrorKind::Truncated), // len 7: second key missing
        (8, DecodeErrorKind::Truncated), // len 8: type missing
        (9, DecodeErrorKind::Truncated), // len 9: the length byte missing
        (9, DecodeErrorKind::LengthOverrun { len: 2, available: 0 }),
        (9, DecodeErrorKind::LengthOverrun { len: 2, available: 1 }),
    ];
    for (len, &(offset, kind)) in expected.iter().enumerate() {
        let e = validate(&full[..len]).expect_err("truncated");
        assert_eq!((e.offset, e.kind), (offset, kind), "cut at {len}");
    }
    assert_eq!(validate(&full), Ok(2));
}

#[test]
fn entries_before_the_fault_are_still_yielded() {
    let mut bytes = encode(&[(1, Value::Bool(true)), (2, Value::I32(3))]);
    bytes.truncate(bytes.len() - 1);
    let mut r = Reader::new(&bytes).expect("reader");
    assert_eq!(r.next(), Some(Ok((1, Value::Bool(true)))));
    assert_eq!(r.next().map(|i| i.map_err(at)), Some(Err((6, DecodeErrorKind::Truncated))));
    assert_eq!(r.next(), None, "fused after an error");
}

#[test]
fn unknown_type_points_at_the_type_byte() {
    for code in [0x00u8, 0x08, 0x7f, 0xff] {
        let bytes = [2, 1, 1, 1, 9, code, 0, 0];
        assert_eq!(validate(&bytes).map_err(at), Err((5, DecodeErrorKind::UnknownType(code))));
    }
    // A zero-filled buffer is not a message with entries.
    assert_eq!(validate(&[0; 8]).map_err(at), Err((1, DecodeErrorKind::TrailingBytes)));
    assert_eq!(validate(&[1, 0, 0]).map_err(at), Err((2, DecodeErrorKind::UnknownType(0))));
}

#[test]
fn overlong_length_points_at_the_length_byte() {
    let bytes = [1, 4, 6, 200, 1, 2, 3];
    assert_eq!(validate(&bytes).map_err(at), Err((3, DecodeErrorKind::LengthOverrun { len: 200, available: 3 })));
    let bytes = [1, 4, 7, 255];
    assert_eq!(validate(&bytes).map_err(at), Err((3, DecodeErrorKind::LengthOverrun { len: 255, available: 0 })));
}

#[test]
fn bad_utf8_points_at_the_first_bad_sequence() {
    // "ab", then a lone continuation byte.
    assert_eq!(validate(&[1, 0, 7, 3, b'a', b'b', 0x80]).map_err(at), Err((6, DecodeErrorKind::InvalidUtf8)));
    // A sequence cut by the string's end (not the message's): é is c3 a9.
    assert_eq!(validate(&[1, 0, 7, 2, b'a', 0xc3, 0xa9]).map_err(at), Err((5, DecodeErrorKind::InvalidUtf8)));
    // Surrogates, overlong forms and > U+10FFFF are not UTF-8 either.
    for bad in [&[0xed, 0xa0, 0x80][..], &[0xc0, 0x80], &[0xf4, 0x90, 0x80, 0x80]] {
        let mut bytes = vec![1, 0, 7, bad.len() as u8];
        bytes.extend_from_slice(bad);
        assert_eq!(validate(&bytes).map_err(at), Err((4, DecodeErrorKind::InvalidUtf8)), "{bad:x?}");
        bytes[2] = Type::Bytes as u8; // the same bytes are fine as a byte string
        assert_eq!(validate(&bytes), Ok(1));
    }
}

#[test]
fn bool_must_be_0_or_1() {
    assert_eq!(validate(&[1, 3, 1, 2]).map_err(at), Err((3, DecodeErrorKind::InvalidBool(2))));
    assert_eq!(validate(&[1, 3, 1, 0xff]).map_err(at), Err((3, DecodeErrorKind::InvalidBool(0xff))));
}

#[test]
fn trailing_garbage_points_at_its_first_byte() {
    let mut bytes = encode(&[(1, Value::U32(5))]);
    let end = bytes.len();
    bytes.extend_from_slice(&[1, 1, 1]); // a well-formed entry the count does not cover
    assert_eq!(validate(&bytes).map_err(at), Err((end, DecodeErrorKind::TrailingBytes)));
    let mut r = Reader::new(&bytes).expect("reader");
    assert_eq!(r.next(), Some(Ok((1, Value::U32(5)))));
    assert_eq!(r.next().map(|i| i.map_err(at)), Some(Err((end, DecodeErrorKind::TrailingBytes))));
    assert_eq!(r.next(), None);
}

#[test]
fn errors_print_their_offset() {
    let e = validate(&[1, 0, 9]).expect_err("unknown type");
    assert_eq!(e.to_string(), "keyval: at byte 2: unknown type code 0x09");
    let e = validate(&[1, 0, 6, 9]).expect_err("overrun");
    assert_eq!(e.to_string(), "keyval: at byte 3: length 9 but only 0 bytes left");
}

// ---- encoder errors -------------------------------------------------------

#[test]
fn encoder_needs_a_count_byte() {
    assert_eq!(Writer::new(&mut []).map(|_| ()), Err(EncodeError::BufferFull { needed: 1, available: 0 }));
}

#[test]
fn full_buffer_leaves_the_writer_unchanged() {
    let mut buf = [0u8; 10];
    let mut w = Writer::new(&mut buf).expect("writer");
    w.i32(1, 7).expect("fits: 1 + 6 bytes");
    assert_eq!(w.i32(2, 8).map(|_| ()), Err(EncodeError::BufferFull { needed: 6, available: 3 }));
    assert_eq!(w.len(), 7);
    w.bool(3, true).expect("a smaller entry still fits");
    assert_eq!(w.finish(), [2, 1, 2, 7, 0, 0, 0, 3, 1, 1]);
}

#[test]
fn long_strings_and_too_many_entries_are_refused() {
    let mut buf = vec![0u8; 4096];
    let mut w = Writer::new(&mut buf).expect("writer");
    let long = "x".repeat(MAX_LEN + 1);
    assert_eq!(w.str(1, &long).map(|_| ()), Err(EncodeError::TooLong { key: 1, len: MAX_LEN + 1 }));
    assert_eq!(w.bytes(2, long.as_bytes()).map(|_| ()), Err(EncodeError::TooLong { key: 2, len: MAX_LEN + 1 }));
    w.str(1, &long[..MAX_LEN]).expect("255 bytes fit");
    for k in 1..MAX_ENTRIES {
        w.bool(k as u8, false).expect("room");
    }
    assert_eq!(w.entries() as usize, MAX_ENTRIES);
    assert_eq!(w.bool(0, true).map(|_| ()), Err(EncodeError::TooManyEntries));
    let bytes = w.finish().to_vec();
    assert_eq!(validate(&bytes), Ok(255));
    assert_eq!(find(&bytes, 1).expect("valid"), Some(Value::Str(&long[..MAX_LEN])));
}
