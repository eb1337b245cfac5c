//! Layout rules of the MCP layer (issue 13), checked on the sources:
//! - a tool file (a module that implements `ToolDef`, with its child
//!   modules) never names another tool's module: what tools share lives in
//!   their toolset's `mod.rs`, a helper module, or `src/mcp/*`;
//! - a helper module (a toolset's `mod.rs` or another non-tool module under
//!   `src/mcp/tools/`) names a tool module only to list its `ToolDef` type,
//!   so no helper is built on a tool file and nothing re-exports one;
//! - nothing in `src/mcp/` outside `src/mcp/tools/` names the tools module
//!   (the registry and the helpers do not depend on the tools).
//!
//! Paths are read from the token stream (comments and strings do not
//! count), `use` trees expanded, and `crate::`/`super::`/`self::` and child
//! module paths resolved to absolute module paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

type ModPath = Vec<String>;

/// One source file: its module path (`crate::mcp::tools::runs::get_run`)
/// and its text.
struct Source {
    file: String,
    module: ModPath,
    text: String,
}

/// A path as written, and where.
struct Occurrence {
    /// Module the path is written in (inline `mod x { }` included).
    module: ModPath,
    /// The path as written, `use` trees expanded (`*` and `self` dropped).
    path: Vec<String>,
    in_use: bool,
}

fn module_of(rel: &Path) -> ModPath {
    let mut m = vec!["crate".to_string()];
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if !last {
            m.push(p.clone());
        } else if p != "mod.rs" && p != "lib.rs" && p != "main.rs" {
            m.push(p.trim_end_matches(".rs").to_string());
        }
    }
    m
}

fn read_tree(src: &Path, dir: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_tree(src, &p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(src).expect("under src");
            out.push(Source {
                file: format!("src/{}", rel.display()),
                module: module_of(rel),
                text: std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            });
        }
    }
}

fn is_ident(t: Option<&TokenTree>, s: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == s)
}

/// `::` starting at `i`.
fn is_path_sep(ts: &[TokenTree], i: usize) -> bool {
    matches!((ts.get(i), ts.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

/// Expands a `use` tree (the tokens between `use` and `;`).
fn use_tree(ts: &[TokenTree], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for t in ts {
        match t {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("a part").push(t.clone()),
        }
    }
    for part in parts.iter().filter(|p| !p.is_empty()) {
        let mut path = prefix.to_vec();
        let mut i = 0;
        let mut expanded = false;
        while i < part.len() {
            match &part[i] {
                TokenTree::Ident(id) if id == "as" => break,
                TokenTree::Ident(id) if id == "self" && !path.is_empty() => {}
                TokenTree::Ident(id) => path.push(id.to_string()),
                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
                    let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                    use_tree(&inner, &path, out);
                    expanded = true;
                }
                _ => {}
            }
            i += 1;
        }
        if !expanded {
            out.push(path);
        }
    }
}

/// Every path written in `ts` (`a::b::c`, `use` trees, inline modules).
fn walk(ts: &[TokenTree], module: &ModPath, out: &mut Vec<Occurrence>) {
    let mut i = 0;
    while i < ts.len() {
        match &ts[i] {
            TokenTree::Ident(id) if id == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) = (ts.get(i + 1), ts.get(i + 2))
                    && g.delimiter() == Delimiter::Brace
                {
                    let mut inner = module.clone();
                    inner.push(name.to_string());
                    let body: Vec<TokenTree> = g.stream().into_iter().collect();
                    walk(&body, &inner, out);
                    i += 3;
                    continue;
                }
            }
            TokenTree::Ident(id) if id == "use" => {
                let end = (i + 1..ts.len())
                    .find(|&j| matches!(&ts[j], TokenTree::Punct(p) if p.as_char() == ';'))
                    .unwrap_or(ts.len());
                let mut paths = Vec::new();
                use_tree(&ts[i + 1..end], &[], &mut paths);
                for path in paths {
                    out.push(Occurrence {
                        module: module.clone(),
                        path,
                        in_use: true,
                    });
                }
                i = end + 1;
                continue;
            }
            TokenTree::Ident(id) => {
                let after_sep = i >= 2 && is_path_sep(ts, i - 2);
                let after_dot = i >= 1 && matches!(&ts[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                if !after_sep && !after_dot && is_path_sep(ts, i + 1) {
                    let mut path = vec![id.to_string()];
                    let mut j = i + 1;
                    while is_path_sep(ts, j) {
                        match ts.get(j + 2) {
                            Some(TokenTree::Ident(next)) => {
                                path.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    out.push(Occurrence {
                        module: module.clone(),
                        path,
                        in_use: false,
                    });
                    i = j;
                    continue;
                }
            }
            TokenTree::Group(g) => {
                let body: Vec<TokenTree> = g.stream().into_iter().collect();
                walk(&body, module, out);
            }
            _ => {}
        }
        i += 1;
    }
}

/// The absolute path `path` written in `module` names, if it is in this
/// crate (`known` holds the module of every file).
fn resolve(module: &ModPath, path: &[String], known: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = path.first()?;
    match first.as_str() {
        "crate" | "$crate" => {
            let mut abs = vec!["crate".to_string()];
            abs.extend(path[1..].iter().cloned());
            Some(abs)
        }
        "self" | "super" => {
            let mut abs = module.clone();
            let mut rest = path;
            while let Some(s) = rest.first() {
                match s.as_str() {
                    "self" => {}
                    "super" => {
                        abs.pop()?;
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
            abs.extend(rest.iter().cloned());
            Some(abs)
        }
        _ => {
            // A child module of the module it is written in (2018 paths).
            let mut child = module.clone();
            child.push(first.clone());
            if known.contains(&child) {
                child.extend(path[1..].iter().cloned());
                Some(child)
            } else {
                None
            }
        }
    }
}

/// The tool module `path` lies in, if any.
fn tool_of<'a>(path: &[String], tools: &'a BTreeMap<ModPath, String>) -> Option<(&'a ModPath, &'a String)> {
    tools
        .iter()
        .find(|(m, _)| path.len() >= m.len() && path[..m.len()] == m[..])
}

/// Module path → name of the type its `impl ToolDef for` is for.
fn tool_modules(sources: &[Source]) -> BTreeMap<ModPath, String> {
    let mut tools = BTreeMap::new();
    for s in sources {
        let ts: Vec<TokenTree> = flatten(TokenStream::from_str(&s.text).unwrap_or_else(|e| panic!("{}: {e}", s.file)));
        for w in ts.windows(3) {
            if is_ident(w.first(), "ToolDef")
                && is_ident(w.get(1), "for")
                && let TokenTree::Ident(ty) = &w[2]
            {
                tools.insert(s.module.clone(), ty.to_string());
            }
        }
    }
    tools
}

fn flatten(ts: TokenStream) -> Vec<TokenTree> {
    let mut out = Vec::new();
    for t in ts {
        if let TokenTree::Group(g) = &t {
            out.extend(flatten(g.stream()));
        } else {
            out.push(t);
        }
    }
    out
}

/// Every breach of the layout rules, as a sentence.
fn breaches(sources: &[Source]) -> Vec<String> {
    let tools = tool_modules(sources);
    let known: BTreeSet<ModPath> = sources.iter().map(|s| s.module.clone()).collect();
    let tools_root: ModPath = ["crate", "mcp", "tools"].map(String::from).to_vec();
    let mcp_root: ModPath = ["crate", "mcp"].map(String::from).to_vec();
    let mut out = Vec::new();
    for s in sources {
        let ts: Vec<TokenTree> = TokenStream::from_str(&s.text)
            .unwrap_or_else(|e| panic!("{}: {e}", s.file))
            .into_iter()
            .collect();
        let mut occ = Vec::new();
        walk(&ts, &s.module, &mut occ);
        for o in occ {
            let Some(abs) = resolve(&o.module, &o.path, &known) else {
                continue;
            };
            let written = o.path.join("::");
            let here = tool_of(&o.module, &tools).map(|(m, _)| m);
            let there = tool_of(&abs, &tools);
            let in_tools = o.module.starts_with(&tools_root);
            match (here, there) {
                (Some(a), Some((b, _))) if a != b => out.push(format!(
                    "{}: tool `{}` names tool `{}` ({written}); move what they share to the toolset's mod.rs, a helper module or src/mcp/",
                    s.file,
                    a.join("::"),
                    b.join("::")
                )),
                (None, Some((b, ty))) if in_tools && (o.in_use || abs.len() != b.len() + 1 || abs.last() != Some(ty)) => {
                    out.push(format!(
                        "{}: helper module `{}` names `{written}` of tool `{}`; a helper may only list a tool's ToolDef type ({ty})",
                        s.file,
                        o.module.join("::"),
                        b.join("::")
                    ))
                }
                _ => {}
            }
            if !in_tools && o.module.starts_with(&mcp_root) && abs.starts_with(&tools_root) {
                out.push(format!(
                    "{}: `{}` names the tools module ({written}); src/mcp/ must not depend on src/mcp/tools/",
                    s.file,
                    o.module.join("::")
                ));
            }
        }
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_tool_file_imports_another_and_the_registry_knows_no_tool() {
    let src = src_dir();
    let mut sources = Vec::new();
    read_tree(&src, &src.join("mcp"), &mut sources);
    let tools = tool_modules(&sources);
    // Every tool the binary has was recognised as a tool module.
    let served: BTreeSet<String> = ks_devops_mcp::mcp::Registry::all()
        .entries()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    let found: BTreeSet<String> = tools.keys().filter_map(|m| m.last().cloned()).collect();
    assert_eq!(found, served, "tool modules (by file name) vs tools served");
    for m in tools.keys() {
        assert!(
            m.len() == 5 && m[..3] == ["crate", "mcp", "tools"],
            "{m:?} is not tools/<toolset>/<tool>"
        );
    }
    let b = breaches(&sources);
    assert!(b.is_empty(), "layout breaches:\n{}", b.join("\n"));
}

fn fake(file: &str, text: &str) -> Source {
    let rel = file.strip_prefix("src/").expect("src/...");
    Source {
        file: file.to_string(),
        module: module_of(Path::new(rel)),
        text: text.to_string(),
    }
}

/// The checker finds each kind of breach (and allows what is allowed).
#[test]
fn the_checker_catches_each_breach() {
    const A: &str = "pub struct A; impl ToolDef for A {} pub fn helper() {}";
    let base = || {
        vec![
            fake("src/mcp/registry.rs", "pub struct Registry;"),
            fake(
                "src/mcp/tools/mod.rs",
                "pub mod runs; pub fn all() -> Vec<E> { runs::tools() }",
            ),
            fake(
                "src/mcp/tools/runs/mod.rs",
                "pub mod a; pub mod b; pub fn tools() -> Vec<E> { vec![E::of::<a::A>(), E::of::<b::B>()] } pub fn shared() {}",
            ),
            fake("src/mcp/tools/runs/a.rs", A),
        ]
    };
    let with = |b_text: &str| {
        let mut s = base();
        s.push(fake("src/mcp/tools/runs/b.rs", b_text));
        breaches(&s)
    };
    // Allowed: the folder's helpers, mcp::*, its own children and tests, comments and strings.
    let ok = with(
        "use super::shared; use crate::mcp::registry::Registry; pub struct B; impl ToolDef for B {}
         // super::a::helper() in a comment
         const S: &str = \"crate::mcp::tools::runs::a::helper\";
         #[cfg(test)] mod tests { use super::*; fn t() { super::super::shared(); } }",
    );
    assert!(ok.is_empty(), "{ok:#?}");
    for bad in [
        "use super::a::helper; pub struct B; impl ToolDef for B {}",
        "use super::{shared, a::{helper}}; pub struct B; impl ToolDef for B {}",
        "use crate::mcp::tools::runs::a; pub struct B; impl ToolDef for B {}",
        "pub struct B; impl ToolDef for B {} fn f() { let x = crate::mcp::tools::runs::a::helper(); }",
        "pub struct B; impl ToolDef for B {} mod tests { fn f() { super::super::a::helper(); } }",
    ] {
        let b = with(bad);
        assert_eq!(b.len(), 1, "{bad}: {b:#?}");
        assert!(
            b[0].contains("tool `crate::mcp::tools::runs::b` names tool `crate::mcp::tools::runs::a`"),
            "{b:?}"
        );
    }
    // A helper re-exporting or calling into a tool file.
    let mut s = base();
    s.push(fake("src/mcp/tools/runs/b.rs", "pub struct B; impl ToolDef for B {}"));
    s.push(fake("src/mcp/tools/runs/nodes.rs", "pub use super::a::helper;"));
    let b = breaches(&s);
    assert!(b.len() == 1 && b[0].contains("helper module"), "{b:#?}");
    // The registry naming the tool list.
    let mut s = base();
    s.push(fake("src/mcp/tools/runs/b.rs", "pub struct B; impl ToolDef for B {}"));
    s[0] = fake(
        "src/mcp/registry.rs",
        "pub fn all() -> Registry { Registry(super::tools::all()) }",
    );
    let b = breaches(&s);
    assert!(
        b.len() == 1 && b[0].contains("must not depend on src/mcp/tools/"),
        "{b:#?}"
    );
}

/// The client crate knows nothing of MCP: none of the MCP or HTTP-server
/// crates may become its dependency (then any MCP type in it is a build
/// error), and no source file of `src/` or `client/src/` grows past 600
/// lines.
#[test]
fn the_client_crate_has_no_mcp_dependency_and_files_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("client/Cargo.toml")).expect("client/Cargo.toml");
    let deps: Vec<&str> = manifest
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("[dependencies]"))
        .filter_map(|l| l.split(['=', ' ']).next())
        .filter(|n| !n.is_empty() && !n.starts_with('['))
        .collect();
    assert!(!deps.is_empty(), "no dependencies read from client/Cargo.toml");
    for banned in ["rmcp", "schemars", "axum"] {
        assert!(!deps.contains(&banned), "client/Cargo.toml depends on {banned}");
    }
    fn long_files(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                long_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let n = std::fs::read_to_string(&p).map(|s| s.lines().count()).unwrap_or(0);
                if n > 600 {
                    out.push(format!("{} ({n} lines)", p.display()));
                }
            }
        }
    }
    let mut long = Vec::new();
    long_files(&root.join("src"), &mut long);
    long_files(&root.join("client/src"), &mut long);
    assert!(long.is_empty(), "split along their seams: {long:?}");
}
