//! Bearer tokens: the token file, the [`Secret`] that never prints, and the [`Authenticator`]
//! that checks a presented token against every known one in constant time.
//!
//! Nothing here names the wire: the server's layer (`service::AuthLayer`) hands this module
//! the `authorization` header's bytes and turns a [`Rejection`] into `UNAUTHENTICATED`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

/// A secret text, such as a bearer token, whose `Debug` and `Display` print `***`.
///
/// The text is reachable only through [`Secret::expose`], so it cannot reach a log line,
/// an error message or a `{:?}` of a struct that holds it by accident.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Returns a secret holding `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Returns the secret text, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns whether the text can be sent as a bearer token: one or more visible ASCII
    /// characters (`!` to `~`), so no space, control character or non-ASCII letter.
    pub fn is_valid_token(&self) -> bool {
        is_token_text(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

fn is_token_text(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Says why a token file cannot be used; never quotes a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read token file {}: {source}", path.display())]
    Read {
        /// The token file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A line holds something that cannot be a bearer token.
    #[error(
        "token file {}:{line}: a token must be visible ASCII characters without spaces",
        path.display()
    )]
    InvalidToken {
        /// The token file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
    },
    /// The file has no token at all, which would lock every caller out.
    #[error("token file {} holds no token (only blank lines and # comments)", path.display())]
    Empty {
        /// The token file.
        path: PathBuf,
    },
}

/// One accepted token and where it came from.
#[derive(Clone)]
struct Token {
    secret: Secret,
    line: usize,
}

/// The accepted bearer tokens of one token file, in file order; never empty.
#[derive(Clone)]
pub struct TokenSet {
    tokens: Vec<Token>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl TokenSet {
    /// Reads a token file: one token per line, surrounding whitespace ignored, blank lines
    /// and lines starting with `#` skipped.
    ///
    /// # Errors
    /// [`AuthError`] naming the file (and the line) when it cannot be read, a line is not a
    /// token, or no token is left.
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Reads the tokens of `text` as [`TokenSet::load`] reads a file; `path` only names the
    /// file in errors.
    ///
    /// # Errors
    /// As [`TokenSet::load`], except for reading.
    pub fn parse(path: &Path, text: &str) -> Result<Self, AuthError> {
        let mut tokens = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let candidate = line.trim();
            if candidate.is_empty() || candidate.starts_with('#') {
                continue;
            }
            if !is_token_text(candidate) {
                return Err(AuthError::InvalidToken {
                    path: path.to_owned(),
                    line: index + 1,
                });
            }
            tokens.push(Token {
                secret: Secret::new(candidate),
                line: index + 1,
            });
        }
        if tokens.is_empty() {
            return Err(AuthError::Empty {
                path: path.to_owned(),
            });
        }
        Ok(Self { tokens })
    }

    /// Returns how many tokens are accepted.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Returns false: a token set is never empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Returns the caller whose token is `presented`, comparing it with every token in
    /// constant time and without stopping at a match, so the time taken does not tell
    /// which bytes or which token matched (only, as always, how many tokens there are).
    pub fn find(&self, presented: &[u8]) -> Option<Caller> {
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, token) in self.tokens.iter().enumerate() {
            let equal = token.secret.expose().as_bytes().ct_eq(presented);
            index = u64::conditional_select(&index, &(i as u64), equal & !found);
            found |= equal;
        }
        let index = usize::try_from(index).ok()?;
        let token = self.tokens.get(index)?;
        bool::from(found).then_some(Caller {
            token_index: index,
            line: token.line,
        })
    }
}

/// Who made a call: which token of the token file it presented, never the token itself.
///
/// The server's auth layer leaves it in the request's extensions, so handlers and logs can
/// name the caller. It displays as `token-N`, the N-th token of the file (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The token's position among the file's tokens, from 0.
    pub token_index: usize,
    /// The token's line in the file, from 1.
    pub line: usize,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token-{}", self.token_index + 1)
    }
}

/// Why a call was not let in; the text is safe to send back (it never quotes a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No `authorization` header.
    #[error("missing bearer token: send `authorization: Bearer TOKEN`")]
    Missing,
    /// An `authorization` header that is not `Bearer TOKEN`.
    #[error("the authorization header is not `Bearer TOKEN`")]
    NotBearer,
    /// A bearer token that is not in the token file.
    #[error("invalid bearer token")]
    Invalid,
}

/// A cheap cloneable handle on the accepted tokens, shared by every connection.
///
/// [`Authenticator::replace`] swaps the token set (a reload reads the file again with
/// [`TokenSet::load`] and calls it); calls checked afterwards see the new set, calls
/// already let in are not affected.
#[derive(Clone)]
pub struct Authenticator {
    /// The current set; a std lock because it is held only to clone an `Arc`.
    current: Arc<RwLock<Arc<TokenSet>>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens().len())
            .finish()
    }
}

impl Authenticator {
    /// Returns an authenticator that accepts `tokens`.
    pub fn new(tokens: TokenSet) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(tokens))),
        }
    }

    /// Replaces the accepted tokens for every call checked from now on.
    pub fn replace(&self, tokens: TokenSet) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(tokens);
    }

    /// Returns the tokens accepted now.
    pub fn tokens(&self) -> Arc<TokenSet> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&current)
    }

    /// Returns the caller that the value of an `authorization` header names: `Bearer`
    /// (in any case), one or more spaces, and a token of the current set.
    ///
    /// # Errors
    /// The [`Rejection`] that says what is wrong.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<Caller, Rejection> {
        let value = authorization.ok_or(Rejection::Missing)?;
        let token = bearer_token(value).ok_or(Rejection::NotBearer)?;
        self.tokens().find(token).ok_or(Rejection::Invalid)
    }
}

/// Returns the token of `Bearer TOKEN`, or `None` when the value has another shape.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    let scheme = value.get(..SCHEME.len())?;
    let rest = value.get(SCHEME.len()..)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) || rest.first() != Some(&b' ') {
        return None;
    }
    let token = rest.trim_ascii();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> TokenSet {
        TokenSet::parse(Path::new("tokens.txt"), text).unwrap()
    }

    fn error(text: &str) -> String {
        TokenSet::parse(Path::new("tokens.txt"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        assert_eq!(format!("{:?}", set("hunter2")), "TokenSet { tokens: 1 }");
        let auth = Authenticator::new(set("hunter2"));
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(Secret::new("a-b.c~d+e/f=").is_valid_token());
        for bad in ["", "two words", "tab\there", "é"] {
            assert!(!Secret::new(bad).is_valid_token(), "{bad:?}");
        }
    }

    #[test]
    fn token_files_skip_blanks_and_comments_and_name_bad_lines() {
        let tokens = set("# operators\n\n  alpha  \n#beta\nbeta\r\n");
        assert_eq!(tokens.len(), 2);
        assert_eq!(
            tokens.find(b"beta"),
            Some(Caller {
                token_index: 1,
                line: 5
            })
        );
        assert_eq!(tokens.find(b"#beta"), None);
        assert_eq!(
            error("ok\nnot ok\n"),
            "token file tokens.txt:2: a token must be visible ASCII characters without spaces"
        );
        assert!(!error("ok\nsecret words\n").contains("secret"));
        for empty in ["", "\n\n", "# only a comment\n   \n"] {
            assert_eq!(
                error(empty),
                "token file tokens.txt holds no token (only blank lines and # comments)"
            );
        }
    }

    #[test]
    fn only_a_known_token_after_bearer_is_a_caller() {
        let auth = Authenticator::new(set("alpha\nbeta\nalpha\n"));
        let check = |value: &str| auth.check(Some(value.as_bytes()));
        assert_eq!(check("Bearer alpha").map(|c| c.token_index), Ok(0));
        assert_eq!(
            check("bearer   beta ").map(|c| c.to_string()).as_deref(),
            Ok("token-2")
        );
        assert_eq!(check("BEARER beta").map(|c| c.line), Ok(2));
        assert_eq!(auth.check(None), Err(Rejection::Missing));
        for shape in [
            "alpha",
            "Bearer",
            "Bearer ",
            "Beareralpha",
            "Basic alpha",
            "Bearer\talpha",
        ] {
            assert_eq!(check(shape), Err(Rejection::NotBearer), "{shape:?}");
        }
        for wrong in [
            "Bearer alph",
            "Bearer alphaa",
            "Bearer ALPHA",
            "Bearer gamma",
        ] {
            assert_eq!(check(wrong), Err(Rejection::Invalid), "{wrong:?}");
        }
    }

    #[test]
    fn a_replaced_token_set_applies_to_later_checks() {
        let auth = Authenticator::new(set("old"));
        let clone = auth.clone();
        auth.replace(set("new"));
        assert_eq!(clone.check(Some(b"Bearer old")), Err(Rejection::Invalid));
        assert!(clone.check(Some(b"Bearer new")).is_ok());
    }
}
