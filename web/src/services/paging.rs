//! Validation of paging parameters shared by the API and the pages.

use crate::error::ApiError;

/// The deepest result a listing or search will page to; deeper requests are refused rather
/// than making the backends skip an unbounded number of rows.
pub const MAX_OFFSET: u64 = 10_000;
/// The largest page a caller may ask for.
pub const MAX_PER_PAGE: u32 = 100;
/// The last page number the API serves: with pages of at most 100, page 100 ends before
/// [`MAX_OFFSET`].
pub const MAX_API_PAGE: u32 = (MAX_OFFSET / MAX_PER_PAGE as u64) as u32;

/// A validated page: 1-based number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    /// Checks `page` (from 1) and `per_page` (1..=100), defaulting to page 1 of `default_size`.
    pub fn new(
        page: Option<u32>,
        per_page: Option<u32>,
        default_size: u32,
    ) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(default_size);
        if page == 0 {
            return Err(ApiError::bad_request("`page` starts at 1"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(ApiError::bad_request(format!(
                "`per_page` must be between 1 and {MAX_PER_PAGE}"
            )));
        }
        let paging = Self { page, per_page };
        if paging.offset() >= MAX_OFFSET {
            return Err(ApiError::bad_request(format!(
                "results beyond the first {MAX_OFFSET} are not served; narrow the query instead"
            )));
        }
        Ok(paging)
    }

    /// [`Paging::new`] with the API's simpler rule, which its OpenAPI document can state:
    /// `page` 1-[`MAX_API_PAGE`] whatever `per_page` is (so every pair stays within
    /// [`MAX_OFFSET`]).
    pub fn for_api(
        page: Option<u32>,
        per_page: Option<u32>,
        default_size: u32,
    ) -> Result<Self, ApiError> {
        if page.is_some_and(|page| page > MAX_API_PAGE) {
            return Err(ApiError::bad_request(format!(
                "`page` must be between 1 and {MAX_API_PAGE}; ask for bigger pages to go deeper"
            )));
        }
        Self::new(page, per_page, default_size)
    }

    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    pub fn limit(self) -> usize {
        self.per_page as usize
    }

    /// How many pages `total` results fill (at least 1).
    pub fn page_count(self, total: u64) -> u64 {
        total.div_ceil(u64::from(self.per_page)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            Paging::new(None, None, 24).unwrap(),
            Paging {
                page: 1,
                per_page: 24
            }
        );
        assert!(Paging::new(Some(0), None, 24).is_err());
        assert!(Paging::new(None, Some(0), 24).is_err());
        assert!(Paging::new(None, Some(101), 24).is_err());
        assert!(Paging::new(Some(100), Some(100), 24).is_ok());
        assert!(Paging::new(Some(101), Some(100), 24).is_err());
        assert_eq!(
            Paging::new(Some(101), Some(100), 24).err().unwrap().status,
            400
        );
        assert_eq!(Paging::new(Some(3), Some(10), 24).unwrap().offset(), 20);
        assert_eq!(Paging::new(None, Some(10), 24).unwrap().page_count(21), 3);
        assert_eq!(Paging::new(None, Some(10), 24).unwrap().page_count(0), 1);
        assert!(Paging::for_api(Some(100), Some(100), 20).is_ok());
        assert!(Paging::for_api(Some(101), Some(1), 20).is_err());
        assert!(Paging::new(Some(101), Some(1), 20).is_ok());
    }
}
