//! Structured output (`--schema`): the user's JSON Schema, read and compiled
//! once before anything is sent; the schema every provider is sent; and the
//! check of each answer against it (CONTRACT.md "Structured output").
//!
//! What each provider is sent is [`Schema::wire`]: the user's schema without
//! `$schema` (a note for validators, which no provider needs), and, when its
//! root is not an object, wrapped as the one property `value` of an object
//! (`{"type": "object", "properties": {"value": …}, "required": ["value"]}`):
//! OpenAI's `response_format` and Anthropic's tool input both want an object
//! at the root. The answer is unwrapped again before it is checked. Each
//! adapter then puts it where its API takes it, adapted to what that API
//! accepts (OpenAI's strict mode, for instance, only when the schema keeps
//! its rules).
//!
//! route checks every answer itself, whatever the provider promises: an
//! answer that is not JSON, or that does not match, is a failed attempt
//! (`invalid_output`) and the router moves on to the next model.
//!
//! The validator is the `jsonschema` crate (<https://docs.rs/jsonschema>),
//! built without its network and file resolvers: a schema is one
//! self-contained document, and a `$ref` outside it is an error. As JSON
//! Schema 2020-12 says, `format` is an annotation, not checked.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::Error;

/// The name route gives the answer where a provider wants one: OpenAI's
/// `json_schema.name`, Anthropic's tool.
pub const ANSWER_NAME: &str = "answer";

/// The property a schema whose root is not an object is wrapped in.
const WRAPPER: &str = "value";

/// Longest message about one answer that does not match.
const MESSAGE_MAX: usize = 300;

/// The user's schema, compiled, and what providers are sent of it.
pub struct Schema {
    /// What the providers are sent: see the module's docs.
    wire: Value,
    /// [`Schema::wire`] wraps the user's schema in `{"value": …}`.
    wrapped: bool,
    validator: jsonschema::Validator,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("wire", &self.wire)
            .field("wrapped", &self.wrapped)
            .finish_non_exhaustive()
    }
}

/// An answer that matched: the JSON value alone, on one line, exactly as the
/// model wrote it but for the whitespace between tokens (so that the order
/// of its keys and the spelling of its numbers are the model's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub line: String,
}

impl Schema {
    /// `--schema SCHEMA`: a file, or inline JSON (which starts with `{`).
    /// Every problem is a usage error (exit 2) naming the flag and the file.
    pub fn load(arg: &str) -> Result<Schema, Error> {
        let path = Path::new(arg);
        let (text, origin) = if path.is_file() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("--schema {arg}: cannot read the file: {e}")).caused_by(e)
            })?;
            (text, format!("--schema {arg}"))
        } else if path.is_dir() {
            return Err(Error::usage(format!(
                "--schema {arg} is a folder, not a schema file"
            )));
        } else if arg.trim_start().starts_with('{') {
            (arg.to_owned(), "--schema (inline JSON)".to_owned())
        } else {
            return Err(Error::usage_hint(
                format!("--schema {arg}: no such file"),
                Some(
                    "give a JSON Schema file, or the schema itself as inline JSON, e.g. \
                     --schema '{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}'"
                        .into(),
                ),
            ));
        };
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Error::usage(format!("{origin} is not JSON: {e}")).caused_by(e))?;
        Schema::new(value).map_err(|why| Error::usage(format!("{origin} {why}")))
    }

    /// Compiles a schema. The error says why it is not one route can use,
    /// worded to follow the schema's name.
    pub fn new(schema: Value) -> Result<Schema, String> {
        if !schema.is_object() {
            return Err(format!(
                "is not a JSON Schema object (it is {}); structured output needs an object \
                 such as {{\"type\": \"object\", \"properties\": {{…}}}}",
                kind_of(&schema)
            ));
        }
        let validator = jsonschema::validator_for(&schema).map_err(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" (at {at})")
            };
            format!("is not a valid JSON Schema: {e}{at}")
        })?;
        let (wire, wrapped) = wire_form(schema);
        Ok(Schema {
            wire,
            wrapped,
            validator,
        })
    }

    /// The schema to send to a provider: an object at the root, without `$schema`.
    pub fn wire(&self) -> &Value {
        &self.wire
    }

    /// The user's schema was wrapped as the `value` of an object.
    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    /// Checks a complete answer: JSON, unwrapped when the schema was, and
    /// matching the schema. The error says what is wrong, in one line.
    pub fn check(&self, text: &str) -> Result<Checked, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the answer is empty, not JSON".to_owned());
        }
        let whole: Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "the answer is not JSON ({e}): {}",
                crate::output::table::shorten(&crate::error::printable(text), 80)
            )
        })?;
        let (value, raw) = if self.wrapped {
            #[derive(Deserialize)]
            struct Wrapped<'a> {
                #[serde(borrow)]
                value: &'a serde_json::value::RawValue,
            }
            let wrapped: Wrapped<'_> = serde_json::from_str(text).map_err(|_| {
                format!("the answer is not an object with `{WRAPPER}`, as route asked for")
            })?;
            let raw = wrapped.value.get();
            let value = whole.get(WRAPPER).cloned().unwrap_or(Value::Null);
            (value, raw)
        } else {
            (whole, text)
        };
        let problems: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(3)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("at {at}: {e}")
                }
            })
            .collect();
        if !problems.is_empty() {
            let message = format!(
                "the answer does not match the schema: {}",
                problems.join("; ")
            );
            return Err(crate::output::table::shorten(
                &crate::error::printable(&message),
                MESSAGE_MAX,
            ));
        }
        Ok(Checked {
            line: minified(raw),
        })
    }
}

/// What a provider is sent: the schema without `$schema`, wrapped as the
/// `value` of an object when its root is not one. The definitions move to
/// the wrapper's root, where the schema's `#/$defs/…` references look for them.
fn wire_form(mut schema: Value) -> (Value, bool) {
    let Some(root) = schema.as_object_mut() else {
        return (schema, false);
    };
    root.remove("$schema");
    if root.get("type").and_then(Value::as_str) == Some("object") {
        return (schema, false);
    }
    let mut wrapper = Map::new();
    for key in ["$defs", "definitions"] {
        if let Some(defs) = root.remove(key) {
            wrapper.insert(key.to_owned(), defs);
        }
    }
    wrapper.insert("type".into(), json!("object"));
    wrapper.insert("properties".into(), json!({ WRAPPER: schema }));
    wrapper.insert("required".into(), json!([WRAPPER]));
    wrapper.insert("additionalProperties".into(), json!(false));
    (Value::Object(wrapper), true)
}

/// JSON text without the whitespace between its tokens: one line (a JSON
/// string holds no raw line break), keys in their order, numbers as written.
fn minified(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// `an array`, `a string`, …: what a JSON value is, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> Schema {
        Schema::new(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "required": ["name", "age"],
            "additionalProperties": false
        }))
        .unwrap()
    }

    #[test]
    fn an_object_schema_is_sent_as_it_is_without_dollar_schema() {
        let s = person();
        assert!(!s.wrapped());
        assert!(s.wire().get("$schema").is_none());
        assert_eq!(s.wire()["required"], json!(["name", "age"]));
    }

    #[test]
    fn a_matching_answer_is_one_line_in_the_models_order() {
        let s = person();
        let checked = s
            .check("\n{\n  \"name\": \"Ada \\\"L\\\"  \",\n  \"age\": 36\n}\n")
            .unwrap();
        assert_eq!(checked.line, r#"{"name":"Ada \"L\"  ","age":36}"#);
    }

    #[test]
    fn answers_that_are_not_json_or_do_not_match_say_why() {
        let s = person();
        let e = s.check("").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = s.check("Sure! Here it is: {\"name\": ").unwrap_err();
        assert!(e.starts_with("the answer is not JSON"), "{e}");
        let e = s.check(r#"{"name": "Ada", "age": -1}"#).unwrap_err();
        assert!(
            e.starts_with("the answer does not match the schema: at /age:"),
            "{e}"
        );
        let e = s.check(r#"{"name": "Ada"}"#).unwrap_err();
        assert!(e.contains("\"age\" is a required property"), "{e}");
        let e = s.check(r#"{"name": "Ada", "age": 3, "x": 1}"#).unwrap_err();
        assert!(e.contains("not allowed"), "{e}");
    }

    #[test]
    fn a_schema_whose_root_is_not_an_object_is_wrapped_and_unwrapped() {
        let s = Schema::new(json!({
            "$defs": {"name": {"type": "string", "minLength": 1}},
            "type": "array",
            "items": {"$ref": "#/$defs/name"},
            "minItems": 2
        }))
        .unwrap();
        assert!(s.wrapped());
        assert_eq!(
            s.wire(),
            &json!({
                "$defs": {"name": {"type": "string", "minLength": 1}},
                "type": "object",
                "properties": {"value": {
                    "type": "array", "items": {"$ref": "#/$defs/name"}, "minItems": 2
                }},
                "required": ["value"],
                "additionalProperties": false
            })
        );
        // The wrapper is a valid schema whose references still resolve.
        jsonschema::validator_for(s.wire()).unwrap();
        assert_eq!(
            s.check(r#"{"value": [ "Ada", "Grace" ]}"#).unwrap().line,
            r#"["Ada","Grace"]"#
        );
        assert!(s.check(r#"["Ada", "Grace"]"#).is_err());
        assert!(s.check(r#"{"value": ["Ada", ""]}"#).is_err());
        assert!(s.check(r#"{"value": ["Ada"]}"#).is_err());
    }

    #[test]
    fn what_is_not_a_usable_schema_is_refused_with_why() {
        let e = Schema::new(json!(true)).unwrap_err();
        assert!(
            e.starts_with("is not a JSON Schema object (it is a boolean)"),
            "{e}"
        );
        let e = Schema::new(json!({"type": "strnig"})).unwrap_err();
        assert!(e.starts_with("is not a valid JSON Schema: "), "{e}");
        assert!(e.contains("/type"), "{e}");
        let e = Schema::new(json!({"$ref": "https://example.com/s.json"})).unwrap_err();
        assert!(e.starts_with("is not a valid JSON Schema: "), "{e}");
    }

    #[test]
    fn minified_keeps_strings_whole() {
        assert_eq!(
            minified("[ 1 , \"a b\\\\\" , {\"k\" :\t\"\\\" x\" } ]"),
            r#"[1,"a b\\",{"k":"\" x"}]"#
        );
    }
}
