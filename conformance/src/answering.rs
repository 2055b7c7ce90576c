//! The answering rule: which undecodable frames a runner answers, and with which ids.
//!
//! [`answerable_ids`] is the reference of the rule (docs/RUNNER-LIMITS.md, "The answering rule";
//! docs/CONFORMANCE.md): the reference runner answers with it and the suites expect exactly its
//! verdict from every runner.

/// The ids a runner echoes when it answers a frame of sound length that fails to decode
/// (`invalid_frame`): `(job_id, request_id)`; a runner answers only when one is `Some`.
///
/// The rule every runner follows (docs/RUNNER-LIMITS.md, "Answering undecodable frames"): the
/// body is read by a *lenient reading* that differs from the protocol's JSON only in letting
/// through numbers of any magnitude, lone surrogate escapes and any nesting depth; it still
/// requires valid UTF-8 and RFC 8259 syntax (no byte-order mark, no `NaN`, nothing after the
/// value). If the body is such a text whose root is an object, the last member `payload` (keys
/// compared after unescaping) is an object, and its last member `job_id` / `request_id` is a
/// string of Unicode scalar values, that id is echoed. This function is the reference of that
/// rule: the reference runner answers with it and the hostile scenarios expect exactly its
/// verdict from every runner. It never recurses and builds no value.
pub fn answerable_ids(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        return (None, None);
    };
    match (Lenient {
        t: text.as_bytes(),
        i: 0,
    })
    .read()
    {
        Some((job, request)) => (job, request),
        None => (None, None),
    }
}

struct Lenient<'a> {
    t: &'a [u8],
    i: usize,
}

impl Lenient<'_> {
    fn at(&self) -> Option<u8> {
        self.t.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.at(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string token at `i`: `Some(value)` (`None` inside when it holds a lone surrogate or
    /// was not `wanted`), or `None` when the token is invalid.
    fn string(&mut self, wanted: bool) -> Option<Option<String>> {
        self.i += 1;
        let mut units: Vec<u16> = Vec::new();
        loop {
            let c = self.at()?;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.t.get(self.i + 1)?;
                    self.i += 2;
                    let unit = match e {
                        b'"' => 0x22,
                        b'\\' => 0x5c,
                        b'/' => 0x2f,
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => 0x0a,
                        b'r' => 0x0d,
                        b't' => 0x09,
                        b'u' => {
                            let hex = self.t.get(self.i..self.i + 4)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 4;
                            u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?
                        }
                        _ => return None,
                    };
                    if wanted {
                        units.push(unit);
                    }
                }
                0x00..=0x1f => return None,
                _ => {
                    // One UTF-8 character (the body is valid UTF-8).
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    if wanted {
                        let ch = std::str::from_utf8(&self.t[self.i..self.i + len]).ok()?;
                        units.extend(ch.encode_utf16());
                    }
                    self.i += len;
                }
            }
        }
        self.i += 1;
        Some(if wanted {
            String::from_utf16(&units).ok()
        } else {
            None
        })
    }

    fn number(&mut self) -> bool {
        let digits = |s: &mut Self| {
            let start = s.i;
            while matches!(s.at(), Some(b'0'..=b'9')) {
                s.i += 1;
            }
            s.i > start
        };
        if self.at() == Some(b'-') {
            self.i += 1;
        }
        match self.at() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return false,
        }
        if self.at() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return false;
            }
        }
        if matches!(self.at(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.at(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return false;
            }
        }
        true
    }

    /// `Some((job_id, request_id))` when the text is JSON under the lenient reading.
    fn read(mut self) -> Option<(Option<String>, Option<String>)> {
        #[derive(PartialEq)]
        enum State {
            Value,
            Key,
            After,
        }
        const KEYS: [&str; 2] = ["job_id", "request_id"];
        let mut found: [Option<String>; 2] = [None, None];
        let mut stack: Vec<u8> = Vec::new();
        let mut in_payload = false;
        let mut wanted: Option<usize> = None;
        let mut state = State::Value;
        self.ws();
        loop {
            match state {
                State::Value => {
                    let c = self.at()?;
                    match c {
                        b'{' | b'[' => {
                            wanted = None;
                            stack.push(c);
                            self.i += 1;
                            self.ws();
                            if self.at() == Some(c + 2) {
                                stack.pop();
                                self.i += 1;
                                state = State::After;
                            } else if c == b'{' {
                                state = State::Key;
                            }
                        }
                        b'"' => {
                            let value = self.string(wanted.is_some())?;
                            if let (Some(k), Some(v)) = (wanted.take(), value) {
                                found[k] = Some(v);
                            }
                            state = State::After;
                        }
                        _ => {
                            wanted = None;
                            let rest = &self.t[self.i..];
                            if c == b'-' || c.is_ascii_digit() {
                                if !self.number() {
                                    return None;
                                }
                            } else if rest.starts_with(b"true") || rest.starts_with(b"null") {
                                self.i += 4;
                            } else if rest.starts_with(b"false") {
                                self.i += 5;
                            } else {
                                return None;
                            }
                            state = State::After;
                        }
                    }
                }
                State::Key => {
                    if self.at() != Some(b'"') {
                        return None;
                    }
                    let depth = stack.len();
                    let key = self.string(depth == 1 || (depth == 2 && in_payload))?;
                    self.ws();
                    if self.at() != Some(b':') {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    if depth == 1 {
                        in_payload = key.as_deref() == Some("payload");
                        if in_payload {
                            found = [None, None];
                        }
                    } else if depth == 2 && in_payload {
                        if let Some(k) = KEYS.iter().position(|k| key.as_deref() == Some(*k)) {
                            found[k] = None;
                            wanted = Some(k);
                        }
                    }
                    state = State::Value;
                }
                State::After => {
                    self.ws();
                    let Some(&open) = stack.last() else {
                        return (self.i == self.t.len()).then(|| {
                            let [job, request] = found;
                            (job, request)
                        });
                    };
                    match self.at()? {
                        b',' => {
                            self.i += 1;
                            self.ws();
                            state = if open == b'{' {
                                State::Key
                            } else {
                                State::Value
                            };
                        }
                        c if c == open + 2 => {
                            stack.pop();
                            self.i += 1;
                        }
                        _ => return None,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn answerable_ids_follows_the_rule() {
        let ids = |body: &[u8]| {
            let (j, r) = answerable_ids(body);
            (j.unwrap_or_default(), r.unwrap_or_default())
        };
        let s = |j: &str, r: &str| (j.to_string(), r.to_string());
        assert_eq!(
            ids(br#"{"payload":{"job_id":"j","request_id":"r"}}"#),
            s("j", "r")
        );
        assert_eq!(
            ids(br#" {"payload" : {"request_id":"r\n\u00e9\ud83d\ude00"} } "#),
            s("", "r\n\u{e9}\u{1f600}")
        );
        assert_eq!(
            ids(br#"{"payload":{"job_id":"j\ud800","request_id":"r"},"x":[1e999,-0,"\udc00"]}"#),
            s("", "r")
        );
        assert_eq!(
            ids(br#"{"payload":{"job_id":"a"},"payload":{"job_id":7}}"#),
            s("", "")
        );
        assert_eq!(
            ids(br#"{"payload":{"job_id":"a"},"payload":{"job_id":"b","job_id":"c"}}"#),
            s("c", "")
        );
        // Not JSON under the lenient reading: nothing.
        for bad in [
            &b"\xEF\xBB\xBF{\"payload\":{\"job_id\":\"j\"}}"[..],
            br#"{"payload":{"job_id":"j"},"x":NaN}"#,
            br#"{"payload":{"job_id":"j"},"x":01}"#,
            br#"{"payload":{"job_id":"j"},"x":[1,]}"#,
            br#"{"payload":{"job_id":"j"}} x"#,
            br#"{"payload":{"job_id":"j"},"x":"\x"}"#,
            b"{\"payload\":{\"job_id\":\"j\"},\"x\":\"\xED\xA0\x80\"}",
            b"{\"payload\":{\"job_id\":\"j\"},\"x\":\"\t\"}",
            br#"{"payload":{"job_id":"j"},"x":[[[}"#,
        ] {
            assert_eq!(answerable_ids(bad), (None, None), "{}", show(bad));
        }
        let mut deep = br#"{"payload":{"job_id":"j","x":"#.to_vec();
        deep.extend(std::iter::repeat(b'[').take(1_000_000));
        deep.extend(std::iter::repeat(b']').take(1_000_000));
        deep.extend(b"}}");
        assert_eq!(ids(&deep), s("j", ""));
    }
}
