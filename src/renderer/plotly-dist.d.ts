/** plotly.js-basic-dist-min ships no types: it is plotly.js (scatter, bar, pie), bundled. */
declare module 'plotly.js-basic-dist-min' {
  import * as Plotly from 'plotly.js';
  export default Plotly;
}
