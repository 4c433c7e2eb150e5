//! `${VAR}` substitution, so that secrets live in the environment (or a Kubernetes Secret) rather than
//! in versioned files. It runs on the raw text before TOML parsing and keeps line numbers intact.

use std::ops::Range;

/// A `${…}` reference that cannot be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    pub span: Range<usize>,
    pub message: String,
}

/// Replace every `${NAME}` (NAME made of `A-Z`, `0-9`, `_`) by the variable's value; `$${` writes a
/// literal `${`. Comments are left alone. Values may not contain line breaks or quotes, which would
/// change the TOML's structure.
pub fn substitute(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<EnvProblem>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let (code, comment) = line.split_at(comment_start(line));
        substitute_code(code, offset, &lookup, &mut out, &mut problems);
        out.push_str(comment);
        offset += line.len();
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Where a line's `#` comment starts (outside quotes), or its length.
fn comment_start(line: &str) -> usize {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some('"'), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return i,
            _ => {}
        }
        escaped = false;
    }
    line.len()
}

fn substitute_code(
    code: &str,
    mut offset: usize,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
    problems: &mut Vec<EnvProblem>,
) {
    let mut rest = code;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar..];
        if after.starts_with("$${") {
            out.push_str("${");
            let consumed = dollar + 3;
            rest = &rest[consumed..];
            offset += consumed;
            continue;
        }
        let Some(body) = after.strip_prefix("${") else {
            out.push('$');
            rest = &rest[dollar + 1..];
            offset += dollar + 1;
            continue;
        };
        let start = offset + dollar;
        let Some(close) = body.find('}') else {
            problems.push(EnvProblem {
                span: start..start + 2,
                message: "« ${ » sans « } » fermante".to_owned(),
            });
            out.push_str(after);
            return;
        };
        let name = &body[..close];
        let span = start..start + close + 3;
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(EnvProblem {
                span,
                message: format!(
                    "nom de variable invalide « {name} » (majuscules, chiffres et _ seulement)"
                ),
            });
        } else {
            match lookup(name) {
                Some(value) if value.contains(['\n', '\r', '"', '\'']) => problems.push(EnvProblem {
                    span,
                    message: format!(
                        "la variable d'environnement {name} contient un saut de ligne ou un guillemet"
                    ),
                }),
                Some(value) => out.push_str(&value),
                None => problems.push(EnvProblem {
                    span,
                    message: format!("la variable d'environnement {name} n'est pas définie"),
                }),
            }
        }
        let consumed = dollar + close + 3;
        rest = &rest[consumed..];
        offset += consumed;
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("s3cret".to_owned()),
            "BAD" => Some("a\nb".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_replaced_and_other_dollars_kept() {
        assert_eq!(
            substitute("k = \"${KEY}\"\nprix = \"5$ $${KEY}\"", env).unwrap(),
            "k = \"s3cret\"\nprix = \"5$ ${KEY}\""
        );
    }

    #[test]
    fn missing_and_unsafe_variables_are_located() {
        let problems = substitute("a = \"${NOPE}\"\nb = \"${BAD}\"", env).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].span, 5..12);
        assert!(problems[0].message.contains("NOPE"));
        assert!(problems[1].message.contains("saut de ligne"));
    }

    #[test]
    fn comments_are_not_substituted() {
        assert_eq!(
            substitute("k = \"#${KEY}\" # ${NOPE}\n# ${NOPE}\n", env).unwrap(),
            "k = \"#s3cret\" # ${NOPE}\n# ${NOPE}\n"
        );
    }

    #[test]
    fn unclosed_reference_is_an_error() {
        assert!(substitute("a = \"${KEY\"", env).is_err());
        assert!(substitute("a = \"${lower}\"", env).is_err());
    }
}
