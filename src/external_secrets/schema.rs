//! Turns an upstream CRD's `openAPIV3Schema` into a plain JSON Schema (Draft 4) that a validator
//! can check generated manifests against, with unknown fields rejected — the proof that what we
//! write is what the API server accepts (EXTERNAL-SECRETS.md §4; schemas/README.md). It only
//! transforms schema data; it must never edit a document to make it pass, and never walk into
//! positions that are not schemas (a CRD has a *field* literally called `properties`).

use serde_json::Value;

/// Picks `spec.versions[name == version].schema.openAPIV3Schema` from a CRD (YAML text) and
/// converts it: `nullable: true` adds `"null"` to `type`; with `strict`, every object schema
/// with `properties` and no `additionalProperties` / `x-kubernetes-preserve-unknown-fields`
/// gets `additionalProperties: false` (the API server's strict field validation).
pub fn crd_json_schema(crd_yaml: &str, version: &str, strict: bool) -> Result<Value, String> {
    let crd: Value = serde_yaml_ng::from_str(crd_yaml).map_err(|e| format!("CRD: {e}"))?;
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .ok_or("CRD has no spec.versions")?;
    let v = versions
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
        .ok_or_else(|| format!("CRD has no version {version:?}"))?;
    let mut s = v
        .pointer("/schema/openAPIV3Schema")
        .cloned()
        .ok_or("version has no schema.openAPIV3Schema")?;
    convert(&mut s, strict);
    Ok(s)
}

fn convert(s: &mut Value, strict: bool) {
    let Some(obj) = s.as_object_mut() else {
        return;
    };
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        if let Some(t) = obj.get("type").cloned() {
            obj.insert(
                "type".into(),
                match t {
                    Value::String(t) => Value::Array(vec![Value::String(t), "null".into()]),
                    Value::Array(mut a) => {
                        a.push("null".into());
                        Value::Array(a)
                    }
                    other => other,
                },
            );
        }
    }
    let preserve = obj
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if strict
        && !preserve
        && obj.contains_key("properties")
        && !obj.contains_key("additionalProperties")
    {
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Schema positions only.
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for v in props.values_mut() {
            convert(v, strict);
        }
    }
    for k in ["items", "additionalProperties", "not"] {
        if let Some(v) = obj.get_mut(k) {
            if v.is_object() {
                convert(v, strict);
            }
        }
    }
    for k in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(a)) = obj.get_mut(k) {
            for v in a {
                convert(v, strict);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_and_strict_but_not_fields_named_properties() {
        let crd = r#"
spec:
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        type: object
        properties:
          a: {type: string, nullable: true}
          properties:
            type: object
            properties:
              x: {type: string}
          free:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
              y: {type: string}
"#;
        let s = crd_json_schema(crd, "v1", true).unwrap();
        assert_eq!(
            s.pointer("/properties/a/type").unwrap(),
            &serde_json::json!(["string", "null"])
        );
        assert_eq!(s["additionalProperties"], Value::Bool(false));
        // A field named `properties` is converted as a schema, not treated as a keyword.
        assert_eq!(
            s.pointer("/properties/properties/additionalProperties"),
            Some(&Value::Bool(false))
        );
        assert_eq!(s.pointer("/properties/free/additionalProperties"), None);
        assert!(crd_json_schema(crd, "v2", true).is_err());
    }
}
