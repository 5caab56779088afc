//! `oa-hook export`: the schemas and the OpenAPI document say what the judge says; the load
//! scripts carry no token.

use crate::support::{Test, anything, contains, judge_200, lacks, sample_path};
use oa_hook::protocol::{CALLBACKS, Callback};
use serde_json::Value;
use std::path::Path;

/// Where `instance` breaks `schema`: the JSON pointer of each failing value (a missing
/// property's own pointer).
fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    fn leaves(error: &boon::ValidationError<'_, '_>, found: &mut Vec<String>) {
        for cause in &error.causes {
            leaves(cause, found);
        }
        if error.causes.is_empty() {
            let at = error.instance_location.to_string();
            match &error.kind {
                boon::ErrorKind::Required { want } => {
                    found.extend(want.iter().map(|name| format!("{at}/{name}")));
                }
                _ => found.push(at),
            }
        }
    }
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let url = "http://oa-hook.test/schema.json";
    compiler.add_resource(url, schema.clone()).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    let mut found = Vec::new();
    if let Err(error) = schemas.validate(instance, index) {
        leaves(&error, &mut found);
    }
    found
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The schema files `export jsonschema` writes, in a fresh directory.
fn exported_schemas() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("schemas");
    let printed = Test::new()
        .args(["export", "jsonschema"])
        .arg(&target)
        .stdout(anything())
        .run()
        .stdout;
    let paths: Vec<&str> = printed.lines().collect();
    assert_eq!(paths.len(), 2 * CALLBACKS.len());
    assert_eq!(
        paths[..2],
        [
            target
                .join("before-subscribe.request.schema.json")
                .display()
                .to_string(),
            target
                .join("before-subscribe.answer.schema.json")
                .display()
                .to_string(),
        ]
    );
    dir
}

fn schema(dir: &tempfile::TempDir, name: &str) -> Value {
    let schema = read_json(&dir.path().join("schemas").join(name));
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    schema
}

#[test]
fn every_body_sample_prints_fits_its_exported_schema() {
    let dir = exported_schemas();
    for callback in CALLBACKS {
        let body: Value = serde_json::from_str(
            &Test::new()
                .args(["sample", callback.name, "--format", "body"])
                .stdout(anything())
                .run()
                .stdout,
        )
        .unwrap();
        let schema = schema(&dir, &format!("{}.request.schema.json", callback.name));
        assert_eq!(
            violations(&schema, &body),
            Vec::<String>::new(),
            "{callback}"
        );
        let file = read_json(&sample_path(&format!("{}.request.json", callback.name)));
        assert_eq!(
            violations(&schema, &file),
            Vec::<String>::new(),
            "{callback}"
        );
    }
}

/// Every answer in samples/ the judge calls conforming fits its schema; every one it refuses
/// (`answer-bad-`) fails it at the fields the judge names.
#[test]
fn sample_answers_fit_their_schemas_as_the_judge_reads_them() {
    let dir = exported_schemas();
    let users = vec!["jared".to_owned(), "leckie".to_owned()];
    let mut refused = 0;
    for entry in std::fs::read_dir(sample_path("")).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some((name, _)) = file.split_once(".answer") else {
            continue;
        };
        let callback = Callback::find(name).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let judgement = judge_200(callback, &users, &bytes);
        let errors: Vec<String> = judgement
            .findings
            .iter()
            .filter(|f| f.is_error())
            .map(|f| format!("/{}", f.path))
            .collect();
        let schema = schema(&dir, &format!("{name}.answer.schema.json"));
        let violated = violations(&schema, &serde_json::from_slice(&bytes).unwrap());
        assert_eq!(
            file.contains(".answer-bad-"),
            !judgement.conforms(),
            "{file}"
        );
        assert_eq!(
            judgement.conforms(),
            violated.is_empty(),
            "{file}: {violated:?}"
        );
        for error in &errors {
            assert!(
                violated.iter().any(|v| v.starts_with(error.as_str())),
                "{file}: the judge says {error}, the schema {violated:?}"
            );
        }
        refused += usize::from(!errors.is_empty());
    }
    assert!(refused >= 5, "{refused} refused samples");
}

#[test]
fn the_openapi_document_has_a_webhook_per_callback_with_its_samples() {
    let document: Value = serde_json::from_str(
        &Test::new()
            .args(["export", "openapi", "--format", "json"])
            .stdout(anything())
            .run()
            .stdout,
    )
    .unwrap();
    let yaml = Test::new()
        .args(["export", "openapi"])
        .stdout(anything())
        .run()
        .stdout;
    assert_eq!(serde_norway::from_str::<Value>(&yaml).unwrap(), document);
    assert_eq!(document["openapi"], "3.1.0");
    let webhooks = document["webhooks"].as_object().unwrap();
    assert_eq!(webhooks.len(), CALLBACKS.len());
    let schemas = &document["components"]["schemas"];
    let users = vec!["jared".to_owned(), "leckie".to_owned()];
    for callback in CALLBACKS {
        let post = &webhooks[callback.command]["post"];
        assert_eq!(post["operationId"], callback.name);
        let query: Vec<&str> = post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            query,
            [
                "SdkAppid",
                "CallbackCommand",
                "contenttype",
                "ClientIP",
                "OptPlatform"
            ]
        );
        assert_eq!(
            post["security"],
            serde_json::json!([{"Sign": [], "RequestTime": []}, {}])
        );
        let request = &post["requestBody"]["content"]["application/json"];
        let body_schema = &schemas[format!("{}.request", callback.name)];
        let example = &request["examples"]["tencent"]["value"];
        assert_eq!(violations(body_schema, example), Vec::<String>::new());
        let answer = &post["responses"]["200"]["content"]["application/json"];
        let answer_schema = &schemas[format!("{}.answer", callback.name)];
        for (name, example) in answer["examples"].as_object().unwrap() {
            let value = &example["value"];
            let bytes = value.to_string();
            let judgement = judge_200(callback, &users, bytes.as_bytes());
            assert!(judgement.conforms(), "{callback} {name}");
            assert_eq!(
                example["summary"],
                format!("Chat {}", judgement.decision),
                "{callback} {name}"
            );
            assert_eq!(violations(answer_schema, value), Vec::<String>::new());
        }
    }
    let info_changed = &webhooks["OfficialAccount.CallbackAfterOfficialAccountInfoChanged"]["post"];
    let example =
        &info_changed["requestBody"]["content"]["application/json"]["examples"]["tencent"];
    assert!(
        example["description"]
            .as_str()
            .unwrap()
            .starts_with("Tencent's sample on this page is not valid JSON"),
        "{example}"
    );
    let sign = &document["components"]["securitySchemes"]["Sign"];
    assert_eq!(
        (&sign["type"], &sign["in"]),
        (&"apiKey".into(), &"query".into())
    );
}

#[test]
fn load_scripts_read_the_token_where_they_run_and_never_carry_it() {
    for engine in ["locust", "k6"] {
        let script = Test::new()
            .args([
                "export",
                engine,
                "--url",
                "http://127.0.0.1:3000/im?tenant=a",
            ])
            .args([
                "before-subscribe",
                "OfficialAccount.CallbackAfterDeleteSubscriber",
            ])
            .env("OA_HOOK_TOKEN", "the-secret-token")
            .stdout(
                lacks("the-secret-token")
                    .contains("OA_HOOK_TOKEN")
                    .contains("http://127.0.0.1:3000/im?tenant=a")
                    .contains("OfficialAccount.CallbackBeforeAddSubscriber")
                    .contains("OfficialAccount.CallbackAfterDeleteSubscriber")
                    .lacks("OfficialAccount.CallbackBeforeSendMsg")
                    // No placeholder is left.
                    .lacks("{{"),
            )
            .run()
            .stdout;
        assert!(script.contains("many machines") || script.contains("Many machines"));
    }
    let all = Test::new()
        .args(["export", "k6", "--url", "http://127.0.0.1:1/", "all"])
        .stdout(anything())
        .run()
        .stdout;
    for callback in CALLBACKS {
        assert!(all.contains(callback.command), "{callback}");
    }
}

#[test]
fn export_mistakes_say_what_to_give() {
    Test::new()
        .args(["export", "jsonschema", "/dev/null/schemas"])
        .status(2)
        .stderr("oa-hook: error: cannot write /dev/null/schemas: Not a directory (os error 20)\n  hint: give a directory that can be made or written to, e.g. schemas/\n")
        .run();
    let k6 = || Test::new().args(["export", "k6", "--url", "http://127.0.0.1:1/"]);
    Test::new()
        .args(["export", "locust", "--url", "http://127.0.0.1:1/", "before-nothing"])
        .status(2)
        .stderr(contains("oa-hook: error: <COMMAND> before-nothing is not a callback\n  hint: did you mean 'before-send'?"))
        .run();
    k6().status(2).stderr(contains("<COMMAND>...")).run();
    k6().args(["--token", "t", "all"])
        .status(2)
        .stderr(anything())
        .run();
}
