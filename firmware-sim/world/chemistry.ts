/** Pond water chemistry: oxygen solubility and the carbonate system that sets pH. */

/**
 * Dissolved oxygen at saturation with moist air at 1 atm, mg/L (Benson & Krause 1984, the
 * formula of APHA Standard Methods 4500-O and the USGS DOTABLES).
 */
export function oxygenSaturationMgL(tempC: number, salinityPpt: number): number {
  const t = tempC + 273.15
  const lnFresh =
    -139.34411 + 1.575701e5 / t - 6.642308e7 / t ** 2 + 1.2438e10 / t ** 3 - 8.621949e11 / t ** 4
  const salt = salinityPpt * (0.017674 - 10.754 / t + 2140.7 / t ** 2)
  return Math.exp(lnFresh - salt)
}

/**
 * First and second carbonic-acid dissociation constants (mol/L). Crude: interpolated in √S
 * between freshwater (pK1 6.35, pK2 10.33) and seawater (pK1* 5.85, pK2* 8.97) at 25 °C
 * (Millero 2006); the ~0.01/°C temperature dependence is neglected.
 */
function carbonateConstants(salinityPpt: number): { k1: number; k2: number } {
  const f = Math.sqrt(Math.max(0, salinityPpt) / 35)
  return { k1: 10 ** -(6.35 - 0.5 * f), k2: 10 ** -(10.33 - 1.36 * f) }
}

/**
 * pH from dissolved inorganic carbon and carbonate alkalinity (both mmol/L), solving
 * ALK = DIC·(K1·H + 2·K1·K2)/(H² + K1·H + K1·K2) for H (water and borate terms neglected,
 * fine for pH 7–9.5).
 */
export function phFromCarbon(dicMmolL: number, alkMeqL: number, salinityPpt: number): number {
  const { k1, k2 } = carbonateConstants(salinityPpt)
  const b = k1 * (alkMeqL - dicMmolL)
  const c = k1 * k2 * (alkMeqL - 2 * dicMmolL)
  const h = (-b + Math.sqrt(b * b - 4 * alkMeqL * c)) / (2 * alkMeqL)
  return h > 0 ? Math.min(10.5, -Math.log10(h)) : 10.5
}

/** Dissolved inorganic carbon (mmol/L) at a given pH and alkalinity: the inverse of phFromCarbon. */
export function carbonFromPh(ph: number, alkMeqL: number, salinityPpt: number): number {
  const { k1, k2 } = carbonateConstants(salinityPpt)
  const h = 10 ** -ph
  return (alkMeqL * (h * h + k1 * h + k1 * k2)) / (k1 * h + 2 * k1 * k2)
}
