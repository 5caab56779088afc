//! `oa-hook export`: the protocol handed to other tools. The OpenAPI document and the JSON
//! Schemas are made from the definitions the judge uses (`crate::protocol`); the load scripts
//! carry the same schemas and the decisions the judge reads, and sign every request afresh.

pub(crate) mod openapi;
pub(crate) mod script;

use crate::protocol::{CALLBACKS, answer_schema, body_schema};
use serde_json::{Map, Value};

/// One JSON Schema file per body and per answer, in the table's order: its file name and the
/// schema.
pub(crate) fn schema_files() -> Vec<(String, Value)> {
    CALLBACKS
        .iter()
        .flat_map(|callback| {
            [
                (
                    format!("{}.request.schema.json", callback.name),
                    standalone(body_schema(callback)),
                ),
                (
                    format!("{}.answer.schema.json", callback.name),
                    standalone(answer_schema(callback)),
                ),
            ]
        })
        .collect()
}

/// A schema as a file of its own: it names its dialect first.
fn standalone(schema: Value) -> Value {
    let mut file = Map::new();
    file.insert("$schema".to_owned(), openapi::DIALECT.into());
    if let Value::Object(fields) = schema {
        file.extend(fields);
    }
    Value::Object(file)
}

/// `value` as a YAML document.
pub(crate) fn yaml(value: &Value) -> Result<String, serde_norway::Error> {
    serde_norway::to_string(value)
}
