//! JSON layout of the vector files: objects and arrays two levels deep are indented, anything deeper
//! (one case) sits on one line, so a file reads as one case per line and diffs stay small.

use serde_json::Value;

/// `value` as the vector files lay it out, with a final newline.
pub fn render(value: &Value) -> String {
    let mut out = String::new();
    write(value, 0, &mut out);
    out.push('\n');
    out
}

fn write(value: &Value, depth: usize, out: &mut String) {
    let pad = |d: usize| "  ".repeat(d);
    match value {
        Value::Object(map) if depth < 2 && !map.is_empty() => {
            out.push_str("{\n");
            let last = map.len() - 1;
            for (i, (k, v)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&serde_json::to_string(k).expect("a string"));
                out.push_str(": ");
                write(v, depth + 1, out);
                if i != last {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) if depth < 2 && items.iter().any(|v| v.is_object() || v.is_array()) => {
            out.push_str("[\n");
            let last = items.len() - 1;
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write(v, depth + 1, out);
                if i != last {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).expect("serializable")),
    }
}
