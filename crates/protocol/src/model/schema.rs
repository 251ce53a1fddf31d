//! The shape of the generated constraint table: what the model says about each shape,
//! reduced to what request validation needs.

/// One shape of the service model. Shapes refer to each other by index into `SHAPES`.
#[derive(Debug)]
pub struct ShapeDef {
    pub name: &'static str,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Structure {
        members: &'static [Member],
    },
    List {
        member: usize,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: usize,
        value: usize,
        min: Option<i64>,
        max: Option<i64>,
    },
    String {
        enum_values: &'static [&'static str],
        pattern: Option<&'static str>,
        min: Option<i64>,
        max: Option<i64>,
    },
    /// `wide` is a 64-bit `long`; otherwise a 32-bit `integer`.
    Integer {
        min: Option<i64>,
        max: Option<i64>,
        wide: bool,
    },
    Double {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub shape: usize,
    pub required: bool,
}
