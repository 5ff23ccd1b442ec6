// The varying-slope model of Maokomatanda et al. (2020) fitted from per-group
// sufficient statistics (chapter 5's Monte Carlo study). Centred, as chapter
// 4's measurements advise for the study's information-rich designs.
//
// The normal likelihood of group j depends on its data only through
//   n_j, sum x, sum y, sum x*y, sum x^2, sum y^2:
//   sum_i (y_i - alpha - beta_j x_i)^2
//     = Syy - 2 alpha Sy - 2 beta_j Sxy + n alpha^2 + 2 alpha beta_j Sx + beta_j^2 Sxx,
// so the log likelihood is -n_j log(sigma_y) - that sum / (2 sigma_y^2), up to
// a constant. One evaluation costs O(J) instead of O(N): for 10 groups of 200,
// 10 terms instead of 2,000. tests/test_study.py checks that the log density
// equals varying_slope.stan's up to a constant.
data {
  int<lower=1> J;                          // number of groups
  vector<lower=0>[J] n;                    // group sizes
  vector[J] sx;                            // sum of x in each group
  vector[J] sy;                            // sum of y
  vector[J] sxy;                           // sum of x * y
  vector<lower=0>[J] sxx;                  // sum of x^2
  vector<lower=0>[J] syy;                  // sum of y^2
  vector[J] u;                             // group-level predictor
  int<lower=0, upper=1> flat_prior;        // 1: uniform prior on gamma_0, gamma_1
  vector[2] gamma_loc;                     // prior means of gamma_0, gamma_1
  vector<lower=0>[2] gamma_scale;          // prior sds of gamma_0, gamma_1
  int<lower=1, upper=3> sigma_b_prior;     // 1: half-Cauchy(0, 5); 2: half-normal(0, 1); 3: uniform(0, 100)
}
parameters {
  real alpha;                              // common intercept
  real gamma_0;                            // intercept of the group-level regression
  real gamma_1;                            // slope of the group-level regression on u
  // sd of the group slopes around the regression; an infinite upper bound is no bound
  real<lower=0, upper=(sigma_b_prior == 3 ? 100 : positive_infinity())> sigma_b;
  vector[J] beta;                          // group slopes
  real<lower=0> sigma_y;                   // sd of the individual-level noise
}
model {
  alpha ~ normal(0, 10);
  if (!flat_prior) {
    gamma_0 ~ normal(gamma_loc[1], gamma_scale[1]);
    gamma_1 ~ normal(gamma_loc[2], gamma_scale[2]);
  }
  if (sigma_b_prior == 1) {
    sigma_b ~ cauchy(0, 5);
  } else if (sigma_b_prior == 2) {
    sigma_b ~ normal(0, 1);
  }                                        // 3: uniform on (0, 100), the bounds alone
  sigma_y ~ cauchy(0, 5);
  beta ~ normal(gamma_0 + gamma_1 * u, sigma_b);
  {
    vector[J] rss = syy - 2 * alpha * sy - 2 * beta .* sxy + n * square(alpha)
                    + 2 * alpha * beta .* sx + square(beta) .* sxx;
    target += -sum(n) * log(sigma_y) - 0.5 * sum(rss) / square(sigma_y);
  }
}
generated quantities {
  vector[J] eta = beta - (gamma_0 + gamma_1 * u);  // group effects
}
