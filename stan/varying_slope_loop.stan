// The varying-slope model of Maokomatanda et al. (2020) written as the seed
// project wrote it: one loop over the observations, computing each
// observation's slope and mean in turn. Kept only as the baseline of
// benchmarks/study.py; the book's programs are varying_slope.stan (vectorised)
// and varying_slope_suff.stan (sufficient statistics), which define the same
// posterior.
data {
  int<lower=1> N;                          // number of individuals
  int<lower=1> J;                          // number of groups
  array[N] int<lower=1, upper=J> group;    // group j[i] of individual i
  vector[N] x;                             // individual-level predictor
  vector[N] y;                             // outcome
  vector[J] u;                             // group-level predictor
  int<lower=0, upper=1> flat_prior;        // 1: uniform prior on gamma_0, gamma_1
  vector[2] gamma_loc;                     // prior means of gamma_0, gamma_1
  vector<lower=0>[2] gamma_scale;          // prior sds of gamma_0, gamma_1
}
parameters {
  real alpha;
  real gamma_0;
  real gamma_1;
  real<lower=0> sigma_b;
  vector[J] eta;                           // group effects, centred: eta ~ N(0, sigma_b)
  real<lower=0> sigma_y;
}
model {
  vector[N] y_hat;
  for (i in 1:N) {
    real beta_i = gamma_0 + u[group[i]] * gamma_1 + eta[group[i]];
    y_hat[i] = alpha + x[i] * beta_i;
  }
  alpha ~ normal(0, 10);
  if (!flat_prior) {
    gamma_0 ~ normal(gamma_loc[1], gamma_scale[1]);
    gamma_1 ~ normal(gamma_loc[2], gamma_scale[2]);
  }
  eta ~ normal(0, sigma_b);
  sigma_y ~ cauchy(0, 5);
  sigma_b ~ cauchy(0, 5);
  y ~ normal(y_hat, sigma_y);
}
