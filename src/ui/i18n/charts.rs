//! The charts' titles, axes and legends.

texts! {
    pub enum ChartText {
    }
}
