//! Names: TypeScript identifiers from wire names and `$defs` keys.

/// `rename_object` → `renameObject`; `api.rename_object` → `apiRenameObject`.
pub fn camel_case(wire: &str) -> String {
    let pascal = pascal_case(wire);
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => "_".into(),
    }
}

/// `rename_object` → `RenameObject`; any non-alphanumeric character separates words.
pub fn pascal_case(wire: &str) -> String {
    let mut out = String::new();
    for word in wire.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The type name for a `$defs` key: `Node-Input` → `NodeInput`, `Foo_Bar_` → `FooBar`.
pub fn type_name(key: &str) -> String {
    pascal_case(key)
}

/// An object key as written in a TypeScript member: bare when it is an identifier.
pub fn property_key(name: &str) -> String {
    let ident = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ident {
        name.to_string()
    } else {
        serde_json::to_string(name).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel_case("rename_object"), "renameObject");
        assert_eq!(camel_case("api.rename_object"), "apiRenameObject");
        assert_eq!(pascal_case("selection_changed"), "SelectionChanged");
        assert_eq!(type_name("Node-Input"), "NodeInput");
        assert_eq!(pascal_case("3d"), "_3d");
        assert_eq!(property_key("old_name"), "old_name");
        assert_eq!(property_key("with-dash"), "\"with-dash\"");
    }
}
