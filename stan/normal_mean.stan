// The normal model with known variance and a conjugate normal prior
// (chapter 1). Its posterior is known in closed form (bhm.conjugate), so
// this program is the test that bhm.stan returns draws from the right
// distribution.
data {
  int<lower=1> N;            // number of observations
  vector[N] y;               // observations
  real<lower=0> sigma;       // known standard deviation of one observation
  real mu0;                  // prior mean of mu
  real<lower=0> sigma0;      // prior standard deviation of mu
}
parameters {
  real mu;                   // the unknown mean
}
model {
  mu ~ normal(mu0, sigma0);  // prior
  y ~ normal(mu, sigma);     // likelihood, vectorised over the N observations
}
