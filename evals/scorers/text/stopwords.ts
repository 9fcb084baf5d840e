/**
 * Function words and very generic verbs/adverbs: they carry no checkable content, so the
 * groundedness scorer neither credits nor penalises them.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also although am among an and any are as at be became
because become been before being below between both but by can could did do does doing done
down during each either else ever every few for from further had has have having he her here
hers herself him himself his how however i if in into is it its itself just least less like
made make many may me might more most much must my myself neither no nor not now of off often
on once one only or other others our ours ourselves out over own per quite rather same she
should since so some such than that the their theirs them themselves then there these they
this those though through thus to too under until up upon us very via was we were what when
where whether which while who whom whose why will with within without would yet you your
yours yourself yourselves known called named later still well based including include
includes included yes according answer question text context passage`.split(/\s+/),
);

/** Lowercase words that may sit inside a proper name ("Bank of America", "Ludwig van Beethoven"). */
export const NAME_CONNECTORS: ReadonlySet<string> = new Set(['of', 'the', 'and', 'for', 'de', 'del', 'der', 'van', 'von', 'la', 'le', 'da', 'di', 'du', 'y', "'s"]);

/** Number words up to twenty, tens and scales, read as digits. */
export const NUMBER_WORDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10',
    eleven: '11', twelve: '12', thirteen: '13', fourteen: '14', fifteen: '15', sixteen: '16', seventeen: '17', eighteen: '18',
    nineteen: '19', twenty: '20', thirty: '30', forty: '40', fifty: '50', sixty: '60', seventy: '70', eighty: '80', ninety: '90',
    hundred: '100', thousand: '1000', million: '1000000', billion: '1000000000',
    first: '1', second: '2', third: '3', fourth: '4', fifth: '5', sixth: '6', seventh: '7', eighth: '8', ninth: '9', tenth: '10',
  }),
);
