// The filter form: choosing a preset period clears typed dates, typing a date chooses
// "Custom". Without this script the server reads typed dates as a custom period anyway.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const range = document.getElementById("id_range");
  const dates = [document.getElementById("id_start"), document.getElementById("id_end")];
  if (!range || dates.includes(null)) {
    return;
  }
  range.addEventListener("change", () => {
    if (range.value !== "custom") {
      dates.forEach((input) => { input.value = ""; });
    }
  });
  dates.forEach((input) => {
    input.addEventListener("input", () => { range.value = "custom"; });
  });
});
