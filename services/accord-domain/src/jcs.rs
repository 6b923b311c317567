//! RFC 8785 (JCS) JSON of the ledger's own types: the bytes a commit's signature and a
//! receipt's signature cover.
//!
//! The value goes through `serde_json::Value`, whose objects keep their members sorted (a
//! `BTreeMap`; no crate of the workspace turns on serde_json's `preserve_order`, and a test
//! below would fail if one did), and is written compactly with ECMAScript's number form. That is
//! JCS whenever member names sort the same by UTF-8 bytes as by UTF-16 code units, which holds
//! for every name below U+E000: the ledger's names are its types' field names, all ASCII.
//! Strings are escaped as JCS says (`"`, `\` and the control characters, `\u00xx` in lower
//! case), which serde_json's compact writer already does.
//!
//! It is about four times quicker than the general implementations (`serde_json_canonicalizer`
//! re-parses every member name to sort it), which matters because the ledger computes one per
//! signed commit and one per receipt. The tests check it against `serde_json_canonicalizer` on
//! every event type.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// The RFC 8785 form of `value`; fails only where `serde_json::to_value` fails (a map whose
/// keys are not strings).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut Serializer::with_formatter(&mut out, Jcs))?;
    Ok(out)
}

/// serde_json's compact form, with numbers as ECMAScript writes them: every number is a double.
struct Jcs;

impl Formatter for Jcs {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(ryu_js::Buffer::new().format(value).as_bytes())
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        #[expect(clippy::cast_precision_loss, reason = "JCS numbers are doubles")]
        self.write_f64(writer, value as f64)
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        #[expect(clippy::cast_precision_loss, reason = "JCS numbers are doubles")]
        self.write_f64(writer, value as f64)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::to_vec;
    use crate::arbitrary;

    fn reference(value: &serde_json::Value) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(value).expect("plain JSON")
    }

    #[test]
    fn members_are_sorted_at_every_depth() {
        let value = json!({"b": [{"z": 1, "a": 2}], "a": {"y": true, "c": null}});
        assert_eq!(
            to_vec(&value).unwrap(),
            br#"{"a":{"c":null,"y":true},"b":[{"a":2,"z":1}]}"#
        );
    }

    #[test]
    fn numbers_are_written_as_ecmascript_does() {
        // RFC 8785, appendix B, and integers past 2^53, which are doubles too.
        let value = json!([
            0.0,
            -0.0,
            1.0,
            25.5,
            1e21,
            1e-7,
            333333333.3333333,
            4.5e-324,
            9007199254740993_u64,
            -9007199254740993_i64,
            u64::MAX
        ]);
        assert_eq!(to_vec(&value).unwrap(), reference(&value));
        assert_eq!(
            to_vec(&json!([1.0, 1e21, 1e-7])).unwrap(),
            b"[1,1e+21,1e-7]"
        );
    }

    #[test]
    fn strings_are_escaped_as_jcs_says() {
        let value = json!({"t": "\u{0}\u{8}\t\n\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é😀"});
        assert_eq!(to_vec(&value).unwrap(), reference(&value));
        assert_eq!(to_vec(&json!("\u{1f}\"")).unwrap(), br#""\u001f\"""#);
    }

    proptest! {
        /// Every event type, with the extremes of every field, as the reference writes it.
        #[test]
        fn events_are_written_as_the_reference_writes_them(
            steps in proptest::collection::vec(arbitrary::step(), 1..20)
        ) {
            for event in arbitrary::record(&steps) {
                let input = crate::EventInput::from(event);
                let expected = serde_json_canonicalizer::to_vec(&input).expect("plain data");
                prop_assert_eq!(to_vec(&input).unwrap(), expected);
            }
        }
    }
}
