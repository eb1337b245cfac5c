//! Paging shared by list tools: `limit` + opaque `continue` in, `has_more`
//! + `continue` out.

use base64::Engine;
use schemars::JsonSchema;
use serde::Serialize;

use super::error::ToolError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// Paging facts of a list result.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PageInfo {
    /// Items in the whole list.
    pub total: u64,
    /// More items follow: call again with `continue`.
    pub has_more: bool,
    /// Pass as `continue` to get the next page.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
}

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u32,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, token: Option<&str>) -> Result<PageRequest, ToolError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ToolError::InvalidInput(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let offset = match token.filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => decode(t).ok_or_else(|| {
                ToolError::InvalidInput(
                    "continue is not a token this server issued; pass the `continue` value of the previous result unchanged, or omit it to start over".into(),
                )
            })?,
        };
        Ok(PageRequest { offset, limit })
    }

    /// Facts for a page that starts at `self.offset` and has `returned` items.
    pub fn info(&self, returned: usize, total: u64) -> PageInfo {
        let next = self.offset + returned as u64;
        let has_more = returned > 0 && next < total;
        PageInfo {
            total,
            has_more,
            continue_token: has_more.then(|| encode(next)),
        }
    }

    /// Cuts this page out of a complete list.
    pub fn slice<T>(&self, items: Vec<T>) -> (Vec<T>, PageInfo) {
        let total = items.len() as u64;
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset as usize)
            .take(self.limit as usize)
            .collect();
        let info = self.info(page.len(), total);
        (page, info)
    }

    /// Fetches this page from a KubeSphere list: `fetch(Some((page, limit)))`
    /// when the offset falls on an upstream page boundary, else the whole
    /// list (`fetch(None)`) cut here.
    pub async fn fetch<T, F, Fut>(&self, fetch: F) -> Result<(Vec<T>, PageInfo), ToolError>
    where
        F: FnOnce(Option<(u32, u32)>) -> Fut,
        Fut: std::future::Future<Output = crate::kubesphere::KsResult<crate::kubesphere::models::Page<T>>>,
    {
        match self.upstream_page() {
            Some(p) => {
                let up = fetch(Some((p, self.limit))).await?;
                let info = self.info(up.items.len(), up.total);
                Ok((up.items, info))
            }
            None => Ok(self.slice(fetch(None).await?.items)),
        }
    }

    /// KubeSphere's 1-based page number, when the offset is page-aligned.
    pub fn upstream_page(&self) -> Option<u32> {
        self.offset
            .is_multiple_of(self.limit as u64)
            .then(|| (self.offset / self.limit as u64) as u32 + 1)
    }
}

fn encode(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode(token: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix("o:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let p = PageRequest::parse(Some(2), None).unwrap();
        let (items, info) = p.slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(items, vec![1, 2]);
        assert!(info.has_more);
        let p2 = PageRequest::parse(Some(2), info.continue_token.as_deref()).unwrap();
        assert_eq!(p2.offset, 2);
        assert_eq!(p2.upstream_page(), Some(2));
        let (items, _) = p2.slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(items, vec![3, 4]);
        let last = PageRequest { offset: 4, limit: 2 };
        let (items, info) = last.slice(vec![1, 2, 3, 4, 5]);
        assert_eq!(items, vec![5]);
        assert!(!info.has_more && info.continue_token.is_none());
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(501), None).is_err());
        assert!(PageRequest::parse(None, Some("garbage!")).is_err());
    }
}
