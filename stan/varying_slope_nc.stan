// The hierarchical model of Maokomatanda et al. (2020), non-centred
// parameterisation (chapters 4 and 5).
//
//   individual level: y_i = alpha + beta_{j[i]} * x_i + epsilon_i,  epsilon_i ~ N(0, sigma_y)
//   group level:      beta_j = gamma_0 + gamma_1 * u_j + eta_j,     eta_j ~ N(0, sigma_b)
//
// Non-centred: the sampler works on standardised group effects
// eta_std = eta / sigma_b, a standard normal a priori, and beta is built from
// them. This is the better choice when groups have little data: eta_std is then
// nearly independent of sigma_b a posteriori, and the funnel of the centred form
// disappears (Betancourt & Girolami 2015). With plenty of data per group it is
// the worse choice, because the likelihood then ties eta_std to sigma_b.
// Chapter 4 measures both.
//
// Stan's other spelling, vector<offset=..., multiplier=sigma_b>[J] beta, keeps
// the centred model block unchanged. We write the transform out instead: with a
// multiplier that is itself a parameter, a chain that starts at a tiny sigma_b
// can stay trapped there, which the explicit form avoids (stan-dev/stan#3088,
// https://github.com/stan-dev/stan/issues/3088).
//
// The prior on (gamma_0, gamma_1) is data, so that one compiled program serves
// every prior of the Monte Carlo study: normal(gamma_loc, gamma_scale), or an
// improper uniform prior when flat_prior = 1.
//
// prior_only = 1 drops the likelihood: the draws are then from the prior, and
// y_rep from the prior predictive distribution (chapter 4's prior predictive
// check). This form suits that job: a priori eta_std is independent of sigma_b,
// while the centred form's prior of (beta, sigma_b) is itself a funnel.
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
  int<lower=0, upper=1> prior_only;        // 1: ignore y (prior predictive)
}
parameters {
  real alpha;                              // common intercept
  real gamma_0;                            // intercept of the group-level regression
  real gamma_1;                            // slope of the group-level regression on u
  real<lower=0> sigma_b;                   // sd of the group slopes around the regression
  vector[J] eta_std;                       // standardised group effects, eta / sigma_b
  real<lower=0> sigma_y;                   // sd of the individual-level noise
}
transformed parameters {
  vector[J] beta = gamma_0 + gamma_1 * u + sigma_b * eta_std;  // group slopes
}
model {
  alpha ~ normal(0, 10);                   // weakly informative; the source leaves it flat
  if (!flat_prior) {
    gamma_0 ~ normal(gamma_loc[1], gamma_scale[1]);
    gamma_1 ~ normal(gamma_loc[2], gamma_scale[2]);
  }
  sigma_b ~ cauchy(0, 5);                  // half-Cauchy through the <lower=0> bound
  sigma_y ~ cauchy(0, 5);
  eta_std ~ std_normal();                  // implies beta ~ normal(gamma_0 + gamma_1 * u, sigma_b)
  if (!prior_only) {
    y ~ normal(alpha + beta[group] .* x, sigma_y);
  }
}
generated quantities {
  vector[J] eta = beta - (gamma_0 + gamma_1 * u);                    // group effects
  // replicated data: posterior predictive, or prior predictive when prior_only = 1
  array[N] real y_rep = normal_rng(alpha + beta[group] .* x, sigma_y);
}
