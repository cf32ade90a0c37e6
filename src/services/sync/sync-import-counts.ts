/** What an import did with a part's objects. */
export interface PartCounts {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}
