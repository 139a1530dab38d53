// REST paths of the resources Drawbridge reads and writes: /api/v1/... for the core group, /apis/<group>/<version>/...
// for the others; namespaced or cluster-wide; an object; a subresource.

export interface ResourceRef {
  /** '' or undefined: the core group. */
  group?: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function resourcePath(r: ResourceRef): string {
  let path = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespace !== undefined) path += `/namespaces/${encodeURIComponent(r.namespace)}`;
  path += `/${r.plural}`;
  if (r.name !== undefined) path += `/${encodeURIComponent(r.name)}`;
  if (r.subresource !== undefined) path += `/${r.subresource}`;
  return path;
}

/** A core/v1 object (Services, Nodes, Events, ...). */
export const core = (plural: string, namespace?: string, name?: string, subresource?: string): string =>
  resourcePath({ version: 'v1', plural, namespace, name, subresource });
