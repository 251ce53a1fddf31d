//! String-valued enums of the service model (`DevicePlatform`, `RuleOperator`, ...).
//!
//! Each one converts to and from the model's exact string, so the API layer can map
//! wire enums through `as_str`/`FromStr` and the fleet TOML uses the same spelling as
//! the wire. Parsing is strict (case-sensitive), like AWS's enum validation.

use std::fmt;

/// A string that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}; expected one of: {}", .allowed.join(", "))]
pub struct UnknownVariant {
    /// The model's name for the enum, e.g. `DevicePlatform`.
    pub kind: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

/// Declares a model enum: variants with their wire strings, `ALL`, `as_str`,
/// `FromStr`, `Display` and serde in the wire spelling.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in the model's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const WIRE: &'static [&'static str] = &[$($wire),+];

            /// The model's exact string for this value.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the model's exact string.
            pub fn parse(s: &str) -> Result<Self, $crate::device::wire_enum::UnknownVariant> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::device::wire_enum::UnknownVariant {
                        kind: $kind,
                        value: s.to_owned(),
                        allowed: Self::WIRE,
                    }),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::device::wire_enum::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use wire_enum;

/// Joins enum values for error messages ("EQUALS, IN, NOT_IN").
pub(crate) fn join<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
