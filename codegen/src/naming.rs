//! Names: TypeScript identifiers from wire names and `$defs` keys, and the one namespace
//! every exported name of a generated file is claimed in (a clash is an error naming both
//! owners, never two declarations TypeScript would silently merge).

use std::collections::HashMap;

use crate::CodegenError;

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

/// Whether `name` can be written as a TypeScript identifier as it is.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// Words a type may not be named: TypeScript's reserved and contextual keywords, its
/// primitive type names, and the globals a generated file refers to.
pub const RESERVED: &[&str] = &[
    "abstract",
    "any",
    "as",
    "asserts",
    "async",
    "await",
    "bigint",
    "boolean",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "constructor",
    "continue",
    "debugger",
    "declare",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "from",
    "function",
    "get",
    "global",
    "if",
    "implements",
    "import",
    "in",
    "infer",
    "instanceof",
    "interface",
    "is",
    "keyof",
    "let",
    "module",
    "namespace",
    "never",
    "new",
    "null",
    "number",
    "object",
    "of",
    "package",
    "private",
    "protected",
    "public",
    "readonly",
    "require",
    "return",
    "satisfies",
    "set",
    "static",
    "string",
    "super",
    "switch",
    "symbol",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "typeof",
    "undefined",
    "unique",
    "unknown",
    "var",
    "void",
    "while",
    "with",
    "yield", // keywords
    "AsyncIterable",
    "Iterable",
    "Omit",
    "Promise",
    "Record", // globals the generated file uses
];

/// The TypeScript name for a `$defs` key: the key itself when it is an identifier that is
/// not reserved; `Node-Input` → `NodeInput`; `Promise` → `Promise_`.
pub fn type_name(key: &str) -> String {
    let name = if is_identifier(key) { key.to_string() } else { pascal_case(key) };
    if RESERVED.contains(&name.as_str()) {
        name + "_"
    } else {
        name
    }
}

/// A declared name as an identifier: itself when it is one, else its PascalCase.
pub fn identifier(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        pascal_case(name)
    }
}

/// An object key as written in a TypeScript member: bare when it is an identifier.
pub fn property_key(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        serde_json::to_string(name).unwrap_or_default()
    }
}

/// Exported names and who asked for each.
#[derive(Default)]
pub struct Namespace {
    owners: HashMap<String, String>,
}

impl Namespace {
    /// Claim `name` for `owner` (a description such as "the Python type `app.Node`").
    pub fn claim(&mut self, name: &str, owner: String) -> Result<(), CodegenError> {
        if let Some(other) = self.owners.get(name) {
            return Err(CodegenError(format!(
                "{other} and {owner} would both be the TypeScript name `{name}` (TypeScript would merge \
                 them silently): set `__ts_name__ = \"OtherName\"` on the Python class, or rename the \
                 command or class (see docs/codegen.md)"
            )));
        }
        self.owners.insert(name.to_string(), owner);
        Ok(())
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
        assert_eq!(type_name("Node"), "Node");
        assert_eq!(type_name("Promise"), "Promise_");
        assert_eq!(type_name("string"), "string_");
        assert_eq!(pascal_case("3d"), "_3d");
        assert_eq!(property_key("old_name"), "old_name");
        assert_eq!(property_key("with-dash"), "\"with-dash\"");
    }

    #[test]
    fn a_second_claim_names_both_owners() {
        let mut ns = Namespace::default();
        ns.claim("AudioOutput", "the Python type `a.Audio`".into()).unwrap();
        let err = ns.claim("AudioOutput", "the Python type `b.AudioOutput`".into()).unwrap_err();
        assert!(err.0.contains("`a.Audio`") && err.0.contains("`b.AudioOutput`"), "{}", err.0);
    }
}
