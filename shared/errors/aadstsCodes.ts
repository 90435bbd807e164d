/** The AADSTS numbers in an @azure/identity / MSAL error, wherever the SDK put them. */
export function aadstsCodes(error: unknown): number[] {
  const found = new Set<number>();
  const visit = (value: unknown, depth: number) => {
    if (depth > 4 || value === null || value === undefined) return;
    if (typeof value === 'string') {
      for (const m of value.matchAll(/AADSTS(\d{5,7})/g)) found.add(Number(m[1]));
      return;
    }
    if (typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    for (const key of ['errorCodes', 'error_codes']) {
      const codes = record[key];
      if (Array.isArray(codes)) for (const c of codes) if (Number.isFinite(Number(c))) found.add(Number(c));
    }
    for (const key of ['message', 'errorMessage', 'errorDescription', 'error_description', 'errorResponse', 'cause', 'errors']) {
      const child = record[key];
      if (Array.isArray(child)) child.forEach((c) => visit(c, depth + 1));
      else visit(child, depth + 1);
    }
  };
  visit(error, 0);
  return [...found];
}
