//! The sentences a refused file's error report carries.

use super::*;

fn refusal_detail(name: &str, bytes: &[u8]) -> String {
    let by_name = formats::detect_by_name(name);
    let content = formats::detect_bytes(bytes, name);
    unsupported_by_content(name, &by_name, &content).detail
}

#[test]
fn an_empty_file_is_described_in_plain_words() {
    assert_eq!(
        refusal_detail("photo.jpg", b""),
        "\"photo.jpg\" is empty, not the image its name suggests; Smartimage does not accept \
         empty files."
    );
}

#[test]
fn a_refused_format_takes_the_right_article() {
    let key = refusal_detail("notes.txt", b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n");
    assert!(
        key.starts_with(
            "\"notes.txt\" contains a PEM private key (private key or credentials), not the \
             document its name suggests"
        ),
        "{key}"
    );
    let script = refusal_detail("photo.jpg", b"#!/bin/sh\necho hi\n");
    assert!(
        script.starts_with("\"photo.jpg\" contains a shell script (script),"),
        "{script}"
    );
}
