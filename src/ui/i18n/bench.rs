//! The benchmark page's texts.

texts! {
    pub enum BenchText {
    }
}
