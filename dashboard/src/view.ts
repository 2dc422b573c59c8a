/** A rendered route: refreshed in place on live events, disposed when the route changes. */
export interface View {
  refresh(): Promise<void>;
  dispose?(): void;
}
