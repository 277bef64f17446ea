//! Free text that reaches a database: bounded in length and free of NUL,
//! which PostgreSQL cannot store in a `text` column.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must have at most {max} characters, got {got}")]
    TooLong { max: usize, got: usize },
    #[error("must not contain the NUL character (\\u0000)")]
    Nul,
}

/// The pattern that documents "no NUL character".
const NO_NUL_PATTERN: &str = "^[^\\u0000]*$";

fn check(value: &str, max: usize) -> Result<(), TextError> {
    if value.contains('\0') {
        return Err(TextError::Nul);
    }
    let got = value.chars().count();
    if got > max {
        return Err(TextError::TooLong { max, got });
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $max:expr, $example:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted text, in characters.
            pub const MAX_CHARS: usize = $max;

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text itself.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                check(&value, $max).map(|()| Self(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some($max))
                    .pattern(Some(NO_NUL_PATTERN))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

text_type!(
    /// Why a change was made, for the log: at most 500 characters, no NUL.
    Reason,
    500,
    "shelf count"
);

text_type!(
    /// What went wrong with a sync attempt: at most 1,000 characters, no NUL.
    FailureText,
    1000,
    "central is unreachable"
);

text_type!(
    /// The store client (till or staff) whose token made a change, as the
    /// store names it: at most 64 characters, no NUL.
    StoreClient,
    64,
    "pos-01"
);

impl FailureText {
    /// `text` cut to the allowed length with NUL characters replaced, for a
    /// client reporting an error message it did not write.
    pub fn lossy(text: &str) -> Self {
        Self(
            text.chars()
                .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
                .take(Self::MAX_CHARS)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused() {
        assert_eq!(Reason::try_from("a\0b".to_owned()), Err(TextError::Nul));
        assert!(serde_json::from_str::<Reason>(r#""a\u0000b""#).is_err());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(Reason::try_from("é".repeat(500)).is_ok());
        assert_eq!(
            Reason::try_from("a".repeat(501)),
            Err(TextError::TooLong { max: 500, got: 501 })
        );
    }

    #[test]
    fn lossy_failure_text_is_always_valid() {
        let text = FailureText::lossy(&format!("x\0{}", "y".repeat(2000)));
        assert_eq!(text.as_str().chars().count(), FailureText::MAX_CHARS);
        assert!(FailureText::try_from(text.into_inner()).is_ok());
    }
}
