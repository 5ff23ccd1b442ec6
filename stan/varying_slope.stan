// The hierarchical model of Maokomatanda et al. (2020), centred
// parameterisation (chapters 4 and 5). In Stan's notation, with sds:
//
//   individual level: y_i = alpha + beta_{j[i]} * x_i + epsilon_i,
//                     epsilon_i ~ normal(0, sigma_y)
//   group level:      beta_j = gamma_0 + gamma_1 * u_j + eta_j,
//                     eta_j ~ normal(0, sigma_b)
//
// Centred: the sampler works on beta directly. This is the better choice when
// each group has plenty of data, so that the likelihood pins beta_j down and
// its posterior is not tied to sigma_b (Betancourt & Girolami 2015). When the
// groups' data say little about their slopes (few observations, or x with
// little spread), the posterior of (beta, sigma_b) takes the shape of a
// funnel that NUTS cannot traverse: use varying_slope_nc.stan then
// (chapter 4 measures both).
//
// The prior on (gamma_0, gamma_1) is data, so that one compiled program
// serves every prior of the Monte Carlo study: normal(gamma_loc,
// gamma_scale), or an improper uniform prior when flat_prior = 1.
data {
  int<lower=1> N;                        // number of individuals
  int<lower=1> J;                        // number of groups
  array[N] int<lower=1, upper=J> group;  // group j[i] of individual i
  vector[N] x;                           // individual-level predictor
  vector[N] y;                           // outcome
  vector[J] u;                           // group-level predictor
  int<lower=0, upper=1> flat_prior;      // 1: uniform prior on gamma
  vector[2] gamma_loc;                   // prior means of gamma_0, gamma_1
  vector<lower=0>[2] gamma_scale;        // prior sds of gamma_0, gamma_1
}
parameters {
  real alpha;                            // common intercept
  real gamma_0;                          // intercept of the group regression
  real gamma_1;                          // its slope on u
  real<lower=0> sigma_b;                 // sd of the slopes around it
  vector[J] beta;                        // group slopes
  real<lower=0> sigma_y;                 // sd of the individual noise
}
model {
  alpha ~ normal(0, 10);                 // weakly informative (source: flat)
  if (!flat_prior) {
    gamma_0 ~ normal(gamma_loc[1], gamma_scale[1]);
    gamma_1 ~ normal(gamma_loc[2], gamma_scale[2]);
  }
  sigma_b ~ cauchy(0, 5);                // half-Cauchy: the <lower=0> bound
  sigma_y ~ cauchy(0, 5);
  beta ~ normal(gamma_0 + gamma_1 * u, sigma_b);
  y ~ normal(alpha + beta[group] .* x, sigma_y);
}
generated quantities {
  vector[J] eta = beta - (gamma_0 + gamma_1 * u);   // group effects
  // replicated data for the posterior predictive check
  array[N] real y_rep = normal_rng(alpha + beta[group] .* x, sigma_y);
}
